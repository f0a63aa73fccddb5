mv Buildfile dockerfile
