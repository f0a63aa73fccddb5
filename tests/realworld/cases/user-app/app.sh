#!/bin/sh
if [ "$1" = health ]; then exit 0; fi
echo "$APP_GREETING as $(id -un) in $(pwd), $(cat settings.conf)"
