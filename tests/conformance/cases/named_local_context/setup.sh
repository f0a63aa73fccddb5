mkdir basedir && printf dummy-result > basedir/out && printf dummy-result > basedir/out2 && printf 'out2\n' > basedir/.dockerignore
