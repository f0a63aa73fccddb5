FROM alpine
RUN --mount=type=bind,target=/c,size=1g make
