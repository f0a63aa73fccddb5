# escape=/
FROM alpine
