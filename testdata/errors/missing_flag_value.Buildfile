FROM alpine
COPY --from a /b
