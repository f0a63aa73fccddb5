chmod 0700 myscript.sh
