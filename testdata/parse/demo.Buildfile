# syntax=docker/dockerfile:1
# check=skip=StageNameCasing

# The version the demo image reports.
ARG VERSION=1.0

# builder: assembles the application files.
FROM scratch AS builder
ARG VERSION
WORKDIR /src
COPY app/ ./
COPY <<EOF /src/VERSION
${VERSION}
EOF

# app: the image the demo ships.
FROM scratch AS app
ARG VERSION
LABEL org.opencontainers.image.version=$VERSION \
      org.opencontainers.image.title="imgbuild demo"
ENV APP_HOME=/app PATH=/app/bin:/bin
WORKDIR $APP_HOME
COPY --from=builder --chmod=0755 /src/ ./
USER 1000:1000
EXPOSE 8080/tcp
HEALTHCHECK --interval=30s --timeout=3s CMD ["/app/bin/hello", "--health"]
ENTRYPOINT ["/app/bin/hello"]
CMD ["--greet", "world"]
