printf content0 > foo && tar --owner=0 --group=0 -cf t.tar foo && rm foo
printf content1 > bar && tar --owner=0 --group=0 -cf b.tar bar && rm bar
