FROM alpine AS scratch
