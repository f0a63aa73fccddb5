FROM alpine
ENV =x
