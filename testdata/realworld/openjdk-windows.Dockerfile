# escape=`

FROM mcr.microsoft.com/windows/servercore:ltsc2022

# $ProgressPreference: https://github.com/PowerShell/PowerShell/issues/2138#issuecomment-251261324
SHELL ["powershell", "-Command", "$ErrorActionPreference = 'Stop'; $ProgressPreference = 'SilentlyContinue';"]

ENV JAVA_HOME C:\openjdk-21
RUN $newPath = ('{0}\bin;{1}' -f $env:JAVA_HOME, $env:PATH); `
	Write-Host ('Updating PATH: {0}' -f $newPath); `
	setx /M PATH $newPath; `
	Write-Host 'Complete.'

# https://jdk.java.net/
ENV JAVA_VERSION 21.0.2
ENV JAVA_URL https://download.java.net/java/GA/jdk21.0.2/f2283984656d49e1b4d3a1b3b7ca5c8d/13/GPL/openjdk-21.0.2_windows-x64_bin.zip
ENV JAVA_SHA256 b6c17e747ae78cdd6de4d7532b3164b277daee97c007d3eaa2b39cca99882664

RUN Write-Host ('Downloading {0} ...' -f $env:JAVA_URL); `
	[Net.ServicePointManager]::SecurityProtocol = [Net.SecurityProtocolType]::Tls12; `
	Invoke-WebRequest -Uri $env:JAVA_URL -OutFile 'openjdk.zip'; `
	Write-Host ('Verifying sha256 ({0}) ...' -f $env:JAVA_SHA256); `
	if ((Get-FileHash openjdk.zip -Algorithm sha256).Hash -ne $env:JAVA_SHA256) { `
		Write-Host 'FAILED!'; `
		exit 1; `
	}; `
	`
	Write-Host 'Expanding ...'; `
	New-Item -ItemType Directory -Path C:\temp | Out-Null; `
	Expand-Archive openjdk.zip -DestinationPath C:\temp; `
	Move-Item -Path C:\temp\* -Destination $env:JAVA_HOME; `
	Remove-Item C:\temp; `
	`
	Write-Host 'Removing ...'; `
	Remove-Item openjdk.zip -Force; `
	`
	Write-Host 'Verifying install ...'; `
	Write-Host '  javac --version'; javac --version; `
	Write-Host '  java --version'; java --version; `
	`
	Write-Host 'Complete.'

# "jshell" is an interactive REPL for Java (see https://en.wikipedia.org/wiki/JShell)
CMD ["jshell"]
