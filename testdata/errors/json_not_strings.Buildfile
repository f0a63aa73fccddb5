FROM alpine
ENTRYPOINT ["a", true]
