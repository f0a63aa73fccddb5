FROM alpine AS base
FROM busybox AS base
