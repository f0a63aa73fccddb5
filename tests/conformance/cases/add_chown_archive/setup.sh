mkdir -p t/d && printf packed > t/d/f && tar --owner=7 --group=9 -cf a.tar -C t d && rm -rf t
