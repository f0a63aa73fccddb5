// Image references with Docker's normalisation: "busybox" is docker.io/library/busybox:latest,
// "reg:5000/team/app@sha256:..." keeps its registry, port and digest. Docker Hub is reached at
// registry-1.docker.io.
#pragma once

#include <stdexcept>
#include <string>

namespace imgbuild::layers::registry {

class ReferenceError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

struct Reference {
  std::string domain;      // "docker.io", "127.0.0.1:5000"
  std::string repository;  // "library/busybox"
  std::string tag;         // "latest" unless a digest alone was given
  std::string digest;      // "sha256:..." or ""

  // Parses and normalises; throws ReferenceError with the reason.
  static Reference Parse(const std::string& text);
  // The host to talk to (registry-1.docker.io for docker.io).
  std::string Endpoint() const;
  // What a manifest is fetched by: the digest if there is one, else the tag.
  std::string Object() const { return digest.empty() ? tag : digest; }
  // domain/repository[:tag][@digest]
  std::string String() const;
  // Docker's familiar form: docker.io/ and library/ left out ("busybox:latest",
  // "team/app:1", "reg:5000/app:1"), then :tag and @digest as given.
  std::string Familiar() const;
  // domain/repository:tag
  std::string Name() const { return domain + "/" + repository + ":" + (tag.empty() ? "latest" : tag); }
};

}  // namespace imgbuild::layers::registry
