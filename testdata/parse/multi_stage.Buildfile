# syntax=docker/dockerfile:1
ARG GO_VERSION=1.22
ARG ALPINE_VERSION

# builder compiles the binary.
FROM golang:${GO_VERSION}-alpine${ALPINE_VERSION} AS builder
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS="-trimpath"
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
RUN go build -ldflags "-X main.version=${VERSION}" -o /out/app ./cmd/app

FROM builder AS test
RUN go test ./...

FROM alpine:3.20 AS runtime
RUN addgroup -S app && adduser -S -G app app
COPY --from=builder /out/app /usr/local/bin/app
COPY --from=0 /src/LICENSE /licenses/
USER app
EXPOSE 8080/tcp 8443
VOLUME ["/data"]
STOPSIGNAL SIGTERM
LABEL org.opencontainers.image.source="https://example.com/app" \
      org.opencontainers.image.licenses=MIT
ONBUILD COPY . /app/src
ENTRYPOINT ["/usr/local/bin/app"]
CMD ["serve", "--port", "8080"]
