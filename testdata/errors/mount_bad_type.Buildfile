FROM alpine
RUN --mount=type=cahce,target=/c make
