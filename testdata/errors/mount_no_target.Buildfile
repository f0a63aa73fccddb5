FROM alpine
RUN --mount=type=bind,source=x make
