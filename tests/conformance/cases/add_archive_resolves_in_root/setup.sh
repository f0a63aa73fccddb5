mkdir -p t/var/run t2/d t3
printf x > t/var/run/x && tar -cf a.tar -C t var/run/x
printf f > t2/d/f && tar -cf b.tar -C t2 d
printf y > t3/y && tar -cf c.tar -C t3 y
rm -rf t t2 t3
