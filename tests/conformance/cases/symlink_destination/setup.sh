ln -s ../tmp/symlink-target symlink && tar -cf t.tar symlink && rm symlink
