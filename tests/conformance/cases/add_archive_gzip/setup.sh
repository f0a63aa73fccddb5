printf content0 > foo && tar --owner=0 --group=0 -cf t.tar foo && rm foo
gzip t.tar
