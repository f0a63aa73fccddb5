# escape=`
FROM mcr.microsoft.com/windows/servercore:ltsc2022
SHELL ["powershell", "-Command", "$ErrorActionPreference = 'Stop';"]
ENV JAVA_HOME=C:\openjdk-21 `
    APP_DIR=C:\app
RUN $url = 'https://example.com/jdk.zip'; `
    # comments inside continuations are dropped
    Invoke-WebRequest -Uri $url -OutFile jdk.zip; `
    Expand-Archive jdk.zip -DestinationPath C:\; `
    Remove-Item jdk.zip -Force
WORKDIR C:\app
COPY app.jar C:\app\app.jar
CMD ["java", "-jar", "C:\\app\\app.jar"]
