FROM alpine
RUN --mount=type=cache,target=/c,sharing=all make
