FROM alpine AS 1base
