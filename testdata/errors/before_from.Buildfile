RUN echo hi
FROM alpine
