printf 'one\n' > fileone && tar --owner=0 --group=0 -cf test.tar fileone && rm fileone
