mv Buildfile Buildfile.web && ln -s Buildfile.web Buildfile
