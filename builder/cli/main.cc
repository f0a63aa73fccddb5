// The imgbuild command line. Exit codes: 0 success, 1 a Buildfile or build error, 2 a usage error
// (decided here), 130 a build cancelled by Ctrl-C or SIGTERM (RunBuild).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "builder/cli/argv_rewrite.h"
#include "builder/cli/commands.h"

int main(int argc, char** argv) {
  using namespace imgbuild::builder;
  // `imgbuild -f Buildfile -t app .` means `imgbuild build ...`, as with docker build; docker's
  // aliases and a --root before the command are rewritten (builder/cli/argv_rewrite).
  const std::vector<std::string> commands = {"build", "parse", "outline", "images", "history", "inspect",
                                             "tag", "rm", "load", "save", "du", "prune",
                                             "pull", "push", "login", "logout", "manifest"};
  Rewritten rewritten = RewriteArgs(std::vector<std::string>(argv, argv + argc), commands, [](const std::string& w) {
    std::error_code ec;
    return w == "-" || std::filesystem::is_directory(w, ec);
  });
  // A usage error of a rawjson build is the stream's failed event (RunBuild does the same for flags).
  const bool rawjson = BuildWantsRawJson(rewritten.args);
  if (!rewritten.error.empty()) return BuildUsageError(rewritten.error, rawjson, std::cerr);
  std::vector<char*> args;
  for (std::string& a : rewritten.args) args.push_back(a.data());
  argc = static_cast<int>(args.size());
  argv = args.data();
  // `--root ''` is a mistake, not a request for the default state dir.
  const CLI::Validator non_empty(
      [](std::string& v) { return v.empty() ? std::string("must not be empty (omit --root for the default state dir)") : ""; },
      "DIR", "NonEmpty");
  CLI::App app{"imgbuild: a daemonless builder of OCI images from Buildfiles (Dockerfile syntax)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("imgbuild ") + kVersion);

  FrontendOptions parse_opts;
  CLI::App* parse = app.add_subcommand("parse", "Print the parsed Buildfile");
  parse->add_option("-f,--file", parse_opts.file, "Buildfile path, or - for standard input");
  parse->add_flag("--json", parse_opts.json, "Print one JSON document");
  parse->add_option("context", parse_opts.context, "Build context directory")->capture_default_str();

  FrontendOptions outline_opts;
  CLI::App* outline = app.add_subcommand("outline", "Show what a build would do, without building");
  outline->add_option("-f,--file", outline_opts.file, "Buildfile path, or - for standard input");
  outline->add_option("--build-arg", outline_opts.build_args, "Set a build-time variable (K=V)")
      ->allow_extra_args(false);
  outline->add_option("--target", outline_opts.target, "Stage to build");
  outline->add_option("--platform", outline_opts.platform, "Target platform (os/arch[/variant])");
  outline->add_flag("--json", outline_opts.json, "Print one JSON document");
  outline->add_option("context", outline_opts.context, "Build context directory")->capture_default_str();

  BuildOptions build_opts;
  CLI::App* build = app.add_subcommand("build", "Build an image from a Buildfile");
  build->add_option("-f,--file", build_opts.frontend.file, "Buildfile path, or - for standard input");
  build->add_option("-t,--tag", build_opts.tags, "Name the image NAME[:TAG] in the local store")->allow_extra_args(false);
  build->add_option("--build-arg", build_opts.frontend.build_args, "Set a build-time variable (K=V)")->allow_extra_args(false);
  build->add_option("--target", build_opts.frontend.target, "Stage to build");
  build->add_option("--platform", build_opts.frontend.platform, "Target platform (os/arch[/variant])");
  build->add_option("--label", build_opts.labels, "Add a label to the image (K=V)")->allow_extra_args(false);
  build->add_option("-o,--output", build_opts.outputs, "Also export: type=oci,dest=PATH[,tar=false], type=docker,dest=PATH, type=local,dest=DIR, type=tar,dest=FILE")
      ->allow_extra_args(false);
  build->add_option("--compression", build_opts.compression, "Layer compression in exports: gzip (default), zstd, uncompressed");
  build->add_option("--compression-level", build_opts.compression_level, "Codec level (gzip 1-9, zstd 1-19)");
  build->add_option("--build-context", build_opts.build_contexts, "Named context NAME=DIR|oci-layout://PATH[:TAG]")
      ->allow_extra_args(false);
  build->add_option("--progress", build_opts.progress,
                    "Progress output: auto (default; $BUILDKIT_PROGRESS), plain, tty, rawjson, quiet");
  build->add_flag("-q,--quiet", build_opts.quiet, "No progress; print only the image ID (config digest)");
  build->add_option("--add-host", build_opts.add_hosts, "Add NAME:ADDRESS to RUN's /etc/hosts")->allow_extra_args(false);
  build->add_option("--shm-size", build_opts.shm_size, "Size of RUN's /dev/shm (default 64MiB)");
  build->add_option("--ulimit", build_opts.ulimits, "Resource limit of RUN: NAME=SOFT[:HARD] (nofile, nproc, ...)")
      ->allow_extra_args(false);
  build->add_option("--annotation", build_opts.annotations, "Annotate each image manifest ([manifest:]KEY=VALUE) or a multi-platform index (index:KEY=VALUE)")
      ->allow_extra_args(false);
  build->add_option("--provenance", build_opts.provenance, "Attestations: only false (imgbuild makes none)");
  build->add_option("--sbom", build_opts.sbom, "Attestations: only false (imgbuild makes none)");
  build->add_flag("--load,--rm,--force-rm", build_opts.accepted,
                  "Accepted for docker: the store always gets the image, scratch space is always removed");
  build->add_option("--network", build_opts.network, "Network of RUN steps: default (the host's), none, host");
  build->add_option("--allow", build_opts.allow, "Allow an entitlement: security.insecure, network.host")->allow_extra_args(false);
  build->add_option("--secret", build_opts.secrets, "Secret for RUN --mount=type=secret: id=ID,src=FILE or id=ID,env=VAR")
      ->allow_extra_args(false);
  build->add_option("--ssh", build_opts.ssh, "SSH agent socket or keys for RUN --mount=type=ssh: ID[=SOCKET|KEY,...]")
      ->allow_extra_args(false);
  build->add_flag("--no-cache", build_opts.no_cache, "Run every step (results are still recorded in the cache)");
  build->add_option("--no-cache-filter", build_opts.no_cache_filter, "Run every step of these stages: STAGE[,STAGE...]")
      ->delimiter(',')
      ->allow_extra_args(false);
  build->add_flag("--explain-cache", build_opts.explain_cache, "Say why each step that missed the cache missed");
  build->add_option("--cache-to", build_opts.cache_to, "Export the build cache: type=local,dest=DIR[,mode=min|max]")
      ->allow_extra_args(false);
  build->add_option("--cache-from", build_opts.cache_from,
                    "Use an exported build cache: type=local,src=DIR, type=registry,ref=REF, or REF")
      ->allow_extra_args(false);
  build->add_option("--pull", build_opts.pull,
                    "FROM images from registries: missing (default), always (also bare --pull, true), never (false: missing)");
  build->add_flag("--push", build_opts.push, "Push the image to every -t name");
  build->add_option("--tls-verify", build_opts.tls_verify, "Verify registries' TLS certificates (false also allows plain HTTP)");
  build->add_option("--cache-limit", build_opts.cache_limit,
                    "Size bound of the build cache, applied after builds (default: $IMGBUILD_CACHE_LIMIT or 10% of the filesystem)");
  build->add_option("-j,--jobs", build_opts.jobs, "Stages built at once (default: no limit, every stage whose inputs are ready)");
  build->add_option("--iidfile", build_opts.iidfile, "Write the image (config) digest to this file");
  build->add_option("--metadata-file", build_opts.metadata_file, "Write build result metadata (JSON) to this file");
  build->add_option("--root", build_opts.root, "State directory (default: $IMGBUILD_ROOT or /var/lib/imgbuild)")->check(non_empty);
  build->add_option("context", build_opts.frontend.context, "Build context directory")->required();

  StoreOptions images_opts;
  CLI::App* images = app.add_subcommand("images", "List the images in the local store");
  images->add_option("--root", images_opts.root, "State directory")->check(non_empty);
  images->add_flag("--json", images_opts.json, "Print one JSON document (name, id, digest, created, size)");
  images->add_flag("-q,--quiet", images_opts.quiet, "Only image IDs");
  images->add_flag("--digests", images_opts.digests, "Show the manifest digests");
  images->add_flag("--no-trunc", images_opts.no_trunc, "Full image IDs");
  images->add_option("--format", images_opts.format, "table (default), json (a line each), or a Go template ({{.Repository}}:{{.Tag}})");
  images->add_option("-f,--filter", images_opts.filters, "reference=PATTERN, dangling=true|false")->allow_extra_args(false);
  std::string images_reference;
  images->add_option("reference", images_reference, "Only names matching this pattern (as --filter reference=)");

  StoreOptions history_opts;
  CLI::App* history = app.add_subcommand("history", "Show an image's history (docker history)");
  history->add_option("--root", history_opts.root, "State directory")->check(non_empty);
  history->add_flag("-q,--quiet", history_opts.quiet, "Only image IDs");
  history->add_flag("--no-trunc", history_opts.no_trunc, "Do not shorten IDs and commands");
  history->add_flag("--tree", history_opts.tree, "The layers oldest first, with size bars and the step that made each");
  history->add_option("-H,--human", history_opts.human, "Sizes and dates in human terms (default true)")
      ->transform([](std::string v) { return v.rfind('=', 0) == 0 ? v.substr(1) : v; });  // docker's -H=false
  history->add_option("--format", history_opts.format, "table (default), json (a line each), or a Go template");
  history->add_option("--platform", history_opts.platform, "Of a multi-platform image, that platform's (default: the host's)");
  history->add_option("name", history_opts.name, "Image NAME[:TAG], digest or ID")->required();

  StoreOptions inspect_opts;
  CLI::App* inspect = app.add_subcommand("inspect", "Print an image's manifest and config as JSON");
  inspect->add_option("--root", inspect_opts.root, "State directory")->check(non_empty);
  inspect->add_option("-f,--format", inspect_opts.format,
                      "docker (docker's document), or a Go template over it ({{.Id}}, {{json .Config}})");
  inspect->add_option("--platform", inspect_opts.platform,
                      "Of a multi-platform image, that platform's image (default: the index itself; docker's document: the host's)");
  inspect->add_option("name", inspect_opts.name, "Image NAME[:TAG], digest or ID")->required();

  StoreOptions tag_opts;
  std::string tag_target;
  CLI::App* tag = app.add_subcommand("tag", "Give an image of the local store another name");
  tag->add_option("--root", tag_opts.root, "State directory")->check(non_empty);
  tag->add_option("source", tag_opts.name, "Image NAME[:TAG], digest or ID")->required();
  tag->add_option("target", tag_target, "New NAME[:TAG]")->required();

  StoreOptions rm_opts;
  std::vector<std::string> rm_names;
  CLI::App* rm = app.add_subcommand("rm", "Remove image names from the local store");
  rm->add_option("--root", rm_opts.root, "State directory")->check(non_empty);
  rm->add_flag("-f,--force", rm_opts.force, "Remove every name of an image given by ID or digest");
  rm->add_option("names", rm_names, "Image NAME[:TAG], digest or ID...")->required();

  StoreOptions load_opts;
  std::string load_input;
  CLI::App* load = app.add_subcommand("load", "Load images from an OCI layout (dir or tar) or a docker archive");
  load->add_option("--root", load_opts.root, "State directory")->check(non_empty);
  load->add_option("-i,--input", load_input, "OCI layout directory or tar, or docker-archive tar")->required();
  load->add_option("-t,--tag", load_opts.name, "Name the loaded image (default: the names it carries)");

  StoreOptions save_opts;
  std::vector<std::string> save_names;
  std::string save_output, save_format = "oci";
  CLI::App* save = app.add_subcommand("save", "Write an image of the local store to a tar");
  save->add_option("--root", save_opts.root, "State directory")->check(non_empty);
  save->add_option("names", save_names, "Image NAME[:TAG]...")->required();
  save->add_option("-o,--output", save_output, "Tar file to write (default, or -: standard output)");
  save->add_option("--compression", save_opts.compression, "Layer compression: gzip (default), zstd, uncompressed");
  save->add_option("--compression-level", save_opts.compression_level, "Codec level");
  save->add_option("--format", save_format, "oci (OCI layout tar) or docker (docker load tar, also an OCI layout)");

  ManifestOptions manifest_inspect_opts, manifest_create_opts;
  CLI::App* manifest = app.add_subcommand("manifest", "Image indexes: inspect one, or join images into one");
  manifest->require_subcommand(1);
  CLI::App* manifest_inspect = manifest->add_subcommand("inspect", "Show an image or index, of the store or else of its registry");
  manifest_inspect->add_option("--root", manifest_inspect_opts.root, "State directory")->check(non_empty);
  manifest_inspect->add_flag("--raw", manifest_inspect_opts.raw, "Print the JSON as stored or served");
  manifest_inspect->add_flag("--remote", manifest_inspect_opts.remote, "Ask the registry even when the store has the name");
  manifest_inspect->add_option("--tls-verify", manifest_inspect_opts.tls_verify, "Verify TLS certificates (false also allows plain HTTP)");
  manifest_inspect->add_option("name", manifest_inspect_opts.name, "Image reference")->required();
  CLI::App* manifest_create = manifest->add_subcommand("create", "Join images (one per platform) into an index named NAME");
  manifest_create->add_option("--root", manifest_create_opts.root, "State directory")->check(non_empty);
  manifest_create->add_flag("--push", manifest_create_opts.push, "Push the index and its images to NAME");
  manifest_create->add_option("--tls-verify", manifest_create_opts.tls_verify, "Verify TLS certificates (false also allows plain HTTP)");
  manifest_create->add_option("name", manifest_create_opts.name, "The index's NAME[:TAG]")->required();
  manifest_create->add_option("sources", manifest_create_opts.sources, "Images (or indexes) to join: store names, else pulled")
      ->required();

  RegistryCommandOptions pull_opts;
  CLI::App* pull = app.add_subcommand("pull", "Pull an image from a registry into the local store");
  pull->add_option("--root", pull_opts.root, "State directory")->check(non_empty);
  pull->add_option("--platform", pull_opts.platform,
                   "Platform to pick from a multi-platform image (A,B,...: keep the index with those platforms' images)");
  pull->add_flag("--all-platforms", pull_opts.all_platforms, "Keep the whole index, every platform's image");
  pull->add_option("--tls-verify", pull_opts.tls_verify, "Verify TLS certificates (false also allows plain HTTP)");
  pull->add_option("name", pull_opts.name, "Image reference")->required();

  RegistryCommandOptions push_opts;
  CLI::App* push = app.add_subcommand("push", "Push an image of the local store (or an OCI layout / docker archive) to a registry");
  push->add_option("--root", push_opts.root, "State directory")->check(non_empty);
  push->add_option("--tls-verify", push_opts.tls_verify, "Verify TLS certificates (false also allows plain HTTP)");
  push->add_option("--compression", push_opts.compression, "Layer compression: gzip (default), zstd, uncompressed");
  push->add_option("--compression-level", push_opts.compression_level, "Codec level");
  push->add_option("--chunk-size", push_opts.chunk_size, "Upload blobs in chunks of this many bytes (default: one request)");
  push->add_option("name", push_opts.name, "Image NAME[:TAG] of the store, or a path to an OCI layout or archive")->required();
  push->add_option("dest", push_opts.dest, "Destination reference (default: NAME)");

  RegistryCommandOptions login_opts;
  CLI::App* login = app.add_subcommand("login", "Store credentials for a registry (checked first)");
  login->add_option("-u,--username", login_opts.username, "User name");
  login->add_option("-p,--password", login_opts.password, "Password (prefer --password-stdin)");
  login->add_flag("--password-stdin", login_opts.password_stdin, "Read the password from standard input");
  login->add_option("--tls-verify", login_opts.tls_verify, "Verify TLS certificates");
  login->add_option("registry", login_opts.name, "Registry host[:port]")->required();

  RegistryCommandOptions logout_opts;
  CLI::App* logout = app.add_subcommand("logout", "Remove stored credentials for a registry");
  logout_opts.name = "docker.io";
  logout->add_option("registry", logout_opts.name, "Registry host[:port] (default: Docker Hub)");

  CacheOptions du_opts;
  CLI::App* du = app.add_subcommand("du", "Show the state dir's disk use by kind");
  du->add_option("--root", du_opts.root, "State directory")->check(non_empty);
  du->add_flag("--json", du_opts.json, "Print JSON");
  du->add_flag("-v,--verbose", du_opts.verbose, "Also every build cache record: ID, last use, size, step");

  CacheOptions prune_opts;
  CLI::App* prune = app.add_subcommand("prune", "Remove build cache and unreferenced data (never tagged images)");
  prune->add_option("--root", prune_opts.root, "State directory")->check(non_empty);
  prune->add_flag("-a,--all", prune_opts.all, "Also untagged images, base snapshots, cache mounts, export copies and logs");
  prune->add_flag("-f,--force", prune_opts.force, "Accepted for docker (imgbuild never asks)");
  prune->add_option("--keep-storage", prune_opts.keep_storage, "Keep the most recently used cache up to SIZE (e.g. 5GB)");
  prune->add_option("--filter", prune_opts.filters, "until=DURATION: only cache unused for longer (e.g. 24h)")
      ->allow_extra_args(false);

  // Option mistakes named before CLI11 blames another argument (`-t --root`, `--tga`).
  if (argc > 1 && std::find(commands.begin(), commands.end(), std::string(argv[1])) != commands.end()) {
    CLI::App* command = app.get_subcommand(argv[1]);
    std::vector<std::string> checked = rewritten.args;
    std::string shown = argv[1];
    if (argc > 2 && command->get_subcommands({}).size() > 0) {
      // A command of commands (`manifest inspect`): the inner command's options.
      for (CLI::App* sub : command->get_subcommands({})) {
        if (sub->get_name() != argv[2]) continue;
        command = sub;
        checked.erase(checked.begin());
        shown += std::string(" ") + argv[2];
      }
    }
    OptionTable table;
    for (const CLI::Option* o : command->get_options()) {
      const bool takes_value = o->get_expected_min() > 0;
      for (const std::string& l : o->get_lnames()) table["--" + l] = takes_value;
      for (const std::string& s : o->get_snames()) table["-" + s] = takes_value;
    }
    std::string problem = CheckOptions(checked, shown, table);
    if (!problem.empty()) return BuildUsageError(problem, rawjson, std::cerr);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    if (rawjson) return BuildUsageError(e.what(), true, std::cerr);
    app.exit(e);
    return 2;
  }
  if (build->parsed()) {
    if (build_opts.pull == "true") build_opts.pull = "always";  // docker's --pull=true|false
    if (build_opts.pull == "false") build_opts.pull = "missing";
    const char* env_progress = std::getenv("BUILDKIT_PROGRESS");
    if (build->get_option("--progress")->count() == 0 && env_progress && *env_progress) build_opts.progress = env_progress;
    if (build_opts.quiet) build_opts.progress = "quiet";
    return RunBuild(build_opts, std::cout, std::cerr);
  }
  if (images->parsed()) {
    if (!images_reference.empty()) images_opts.filters.push_back("reference=" + images_reference);
    return RunImages(images_opts, std::cout, std::cerr);
  }
  if (history->parsed()) return RunHistory(history_opts, std::cout, std::cerr);
  if (inspect->parsed()) return RunInspect(inspect_opts, std::cout, std::cerr);
  if (tag->parsed()) return RunTag(tag_opts, tag_target, std::cout, std::cerr);
  if (rm->parsed()) return RunRemove(rm_opts, rm_names, std::cout, std::cerr);
  if (load->parsed()) return RunLoad(load_opts, load_input, std::cout, std::cerr);
  if (save->parsed()) return RunSave(save_opts, save_names, save_output, save_format, std::cout, std::cerr);
  if (manifest_inspect->parsed()) return RunManifestInspect(manifest_inspect_opts, std::cout, std::cerr);
  if (manifest_create->parsed()) return RunManifestCreate(manifest_create_opts, std::cout, std::cerr);
  if (pull->parsed()) return RunPull(pull_opts, std::cout, std::cerr);
  if (push->parsed()) return RunPush(push_opts, std::cout, std::cerr);
  if (login->parsed()) return RunLogin(login_opts, std::cin, std::cout, std::cerr);
  if (logout->parsed()) return RunLogout(logout_opts, std::cout, std::cerr);
  if (du->parsed()) return RunDu(du_opts, std::cout, std::cerr);
  if (prune->parsed()) return RunPrune(prune_opts, std::cout, std::cerr);
  if (parse->parsed()) return RunParse(parse_opts, std::cout, std::cerr);
  if (outline->parsed()) return RunOutline(outline_opts, std::cout, std::cerr);
  return 2;
}
