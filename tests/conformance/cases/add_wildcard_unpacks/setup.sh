mkdir -p t && printf packed > t/x && tar -cf sub/a.tar -C t x && rm -rf t
