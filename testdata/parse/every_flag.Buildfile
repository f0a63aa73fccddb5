# syntax=docker/dockerfile:1
# check=skip=FromPlatformFlagConstDisallowed
ARG BASE=alpine:3.20
FROM --platform=linux/amd64 ${BASE} AS base
FROM --platform=$BUILDPLATFORM base AS build
RUN --mount=type=bind,from=base,source=/etc,target=/mnt/etc,rw \
    --mount=type=cache,id=apk,target=/var/cache/apk,sharing=locked,mode=0755,uid=0,gid=0 \
    --mount=type=tmpfs,target=/tmp,size=64m \
    --mount=type=secret,id=token,target=/run/secrets/token,required=true,mode=0400 \
    --mount=type=secret,id=aws,env=AWS_KEY \
    --mount=type=ssh,id=github,required \
    --network=none --security=sandbox \
    make all
COPY --from=base --chown=app:app --chmod=u+rwx,go-w --link --parents --exclude=*.md --exclude=tests/ src/ /app/
ADD --chown=1000:1000 --chmod=0644 --link --checksum=sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d https://example.com/archive.tar.gz /opt/
ADD --keep-git-dir=true https://github.com/moby/buildkit.git#v0.14.0 /src/buildkit
ADD --unpack=false --exclude=*.log archive.tar.gz /data/
HEALTHCHECK --interval=30s --timeout=5s --start-period=1m --start-interval=2s --retries=3 CMD ["curl", "-f", "http://localhost/"]
FROM scratch
COPY --from=build /app /app
