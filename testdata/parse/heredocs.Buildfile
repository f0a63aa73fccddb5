FROM debian:12
RUN <<EOT
#!/usr/bin/env bash
set -euo pipefail
apt-get update
apt-get install -y --no-install-recommends ca-certificates
EOT
RUN <<-"SCRIPT" bash -s -- arg1
	echo "tabs stripped, $HOME not expanded"
	SCRIPT
RUN cat <<ONE > /one && cat <<'TWO' > /two
first $PATH
ONE
second $PATH
TWO
COPY <<config.ini <<-EOF /etc/app/
[section]
key=value
config.ini
	tabbed
	EOF
ADD <<README /README
readme
README
RUN python3 <<PY
print("hello")
PY
