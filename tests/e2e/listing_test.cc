// `images`, `history` and `inspect` in docker's dialect: docker's columns and units, newest first,
// short IDs, -q, --digests, --no-trunc, --filter, --format (json, table, templates) and docker's
// inspect document.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "busybox_fixture.h"
#include "run_util.h"

namespace imgbuild::testing {
namespace {

class ListingTest : public BusyboxTest {
 protected:
  std::vector<std::string> Lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
  }
};

TEST_F(ListingTest, ImagesAsDockerListsThem) {
  RunResult old = Build("old", "FROM scratch\nCOPY Buildfile /\n", "-t app/old:1 --iidfile " + dir_ + "/old.iid",
                        "SOURCE_DATE_EPOCH=1600000000");
  ASSERT_EQ(old.code, 0) << old.err;
  RunResult fresh = Build("new", "FROM busybox:local\nRUN head -c 300000 /dev/zero > /big\n",
                          "-t app/new:2 --iidfile " + dir_ + "/new.iid");
  ASSERT_EQ(fresh.code, 0) << fresh.err;
  std::string old_id = Slurp(dir_ + "/old.iid").substr(7, 12), new_id = Slurp(dir_ + "/new.iid").substr(7, 12);

  RunResult r = RunImgbuild("images --root " + root_);
  ASSERT_EQ(r.code, 0) << r.err;
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 4u) << r.out;
  EXPECT_EQ(lines[0].rfind("REPOSITORY   TAG       IMAGE ID       CREATED ", 0), 0u) << r.out;
  EXPECT_EQ(lines[0].substr(lines[0].size() - 4), "SIZE");
  // Newest first; the image of 2020 comes last, its age in years; sizes in decimal units.
  EXPECT_EQ(lines[1].rfind("app/new      2         " + new_id + "   ", 0), 0u) << r.out;
  EXPECT_NE(lines[1].find("ago"), std::string::npos);
  EXPECT_NE(lines[1].find("2.43MB"), std::string::npos) << r.out;
  EXPECT_EQ(lines[3].rfind("app/old      1         " + old_id, 0), 0u) << r.out;
  EXPECT_NE(lines[3].find(" years ago "), std::string::npos) << r.out;

  r = RunImgbuild("images -q --root " + root_);
  ASSERT_EQ(Lines(r.out).size(), 3u) << r.out;  // busybox:local, and the two builds
  EXPECT_EQ(Lines(r.out)[0], new_id);
  r = RunImgbuild("images --no-trunc --digests --root " + root_);
  EXPECT_NE(r.out.find("DIGEST"), std::string::npos);
  EXPECT_NE(r.out.find(Slurp(dir_ + "/new.iid")), std::string::npos) << r.out;
  r = RunImgbuild("images --filter reference='app/*' --format '{{.Repository}}:{{.Tag}}' --root " + root_);
  EXPECT_EQ(r.out, "app/new:2\napp/old:1\n");
  r = RunImgbuild("images --format '{{.Repository}}' --root " + root_ + " 'busy*'");
  EXPECT_EQ(r.out, "busybox\n");
  r = RunImgbuild("images --format 'table {{.Repository}}\\t{{.ID}}' --filter reference=app/old --root " + root_);
  EXPECT_EQ(r.out, "REPOSITORY   IMAGE ID\napp/old      " + old_id + "\n");
  r = RunImgbuild("images --format json --filter reference=app/new:2 --root " + root_);
  auto row = nlohmann::json::parse(r.out);
  EXPECT_EQ(row["ID"], new_id);
  EXPECT_EQ(row["Tag"], "2");
  EXPECT_EQ(row["Size"], "2.43MB");
  // Mistakes are usage errors before the store is read.
  EXPECT_EQ(RunImgbuild("images --filter colour=red --root " + root_).code, 2);
  r = RunImgbuild("images --format '{{range .}}x{{end}}' --root " + root_);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("\"range\" is not supported"), std::string::npos) << r.err;
  // A build without a name stays as <none> until `prune -a`.
  ASSERT_EQ(Build("dangling", "FROM busybox:local\nLABEL d=1\n").code, 0);
  r = RunImgbuild("images --filter dangling=true --format '{{.Repository}}:{{.Tag}}' --root " + root_);
  EXPECT_EQ(r.out, "<none>:<none>\n");
  r = RunImgbuild("prune -a --root " + root_);
  EXPECT_NE(r.out.find("removed 1 untagged images"), std::string::npos) << r.out << r.err;
  EXPECT_EQ(RunImgbuild("images -q --filter dangling=true --root " + root_).out, "");
  EXPECT_EQ(Lines(RunImgbuild("images -q --root " + root_).out).size(), 3u);
}

TEST_F(ListingTest, HistoryAndInspectAsDockerShowsThem) {
  RunResult b = Build("hist",
                      "FROM busybox:local\nENV A=1\nRUN head -c 3000 /dev/zero > /f && echo a-rather-long-command-that-needs-truncating\n",
                      "-t hist:1 --iidfile " + dir_ + "/iid", "SOURCE_DATE_EPOCH=1700000000");
  ASSERT_EQ(b.code, 0) << b.err;
  std::string id = Slurp(dir_ + "/iid");
  RunResult r = RunImgbuild("history --root " + root_ + " hist:1");
  ASSERT_EQ(r.code, 0) << r.err;
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 6u) << r.out;  // header, RUN, ENV, and busybox's three
  EXPECT_EQ(lines[0].rfind("IMAGE          CREATED ", 0), 0u) << r.out;
  EXPECT_NE(lines[0].find("CREATED BY"), std::string::npos);
  EXPECT_EQ(lines[1].rfind(id.substr(7, 12) + "   ", 0), 0u) << r.out;
  EXPECT_NE(lines[1].find("RUN /bin/sh -c head -c 3000 /dev/zero > /f &…"), std::string::npos) << r.out;
  EXPECT_NE(lines[1].find("4.61kB"), std::string::npos) << r.out;  // the layer tar of a 3000-byte file
  EXPECT_EQ(lines[2].rfind("<missing>", 0), 0u);
  EXPECT_NE(lines[2].find("ENV A=1"), std::string::npos);
  EXPECT_NE(lines[2].find("0B"), std::string::npos);
  r = RunImgbuild("history --no-trunc --format '{{.CreatedBy}}|{{.Size}}' -H=false --root " + root_ + " hist:1");
  ASSERT_FALSE(r.out.empty()) << r.err;
  EXPECT_EQ(Lines(r.out)[0],
            "RUN /bin/sh -c head -c 3000 /dev/zero > /f && echo a-rather-long-command-that-needs-truncating # buildkit|4608")
      << r.out;
  r = RunImgbuild("image history -q --root " + root_ + " " + id);
  ASSERT_FALSE(r.out.empty()) << r.err;
  EXPECT_EQ(Lines(r.out)[0], id.substr(7, 12)) << r.err;

  r = RunImgbuild("inspect --format docker --root " + root_ + " hist:1");
  ASSERT_EQ(r.code, 0) << r.err;
  auto doc = nlohmann::json::parse(r.out);
  ASSERT_TRUE(doc.is_array());
  EXPECT_EQ(doc[0]["Id"], id);
  EXPECT_EQ(doc[0]["RepoTags"], nlohmann::json::array({"hist:1"}));
  std::string created = doc[0]["Created"];
  EXPECT_EQ(created, nlohmann::json::parse(RunImgbuild("inspect --root " + root_ + " hist:1").out)["config"]["created"]);
  EXPECT_EQ(doc[0]["Os"], "linux");
  EXPECT_EQ(doc[0]["RootFS"]["Layers"].size(), 2u);
  EXPECT_EQ(doc[0]["Config"]["Env"][1], "A=1");
  r = RunImgbuild("image inspect -f '{{.Created}} {{json .RepoTags}} {{index .Config.Env 1}}' --root " + root_ + " hist:1");
  EXPECT_EQ(r.out, created + " [\"hist:1\"] A=1\n") << r.err;
}

TEST_F(ListingTest, PicturesOfLayersAndTheCache) {
  RunResult b = Build("pic", "FROM busybox:local\nENV A=1\nRUN head -c 200000 /dev/zero > /big\n", "-t pic:1");
  ASSERT_EQ(b.code, 0) << b.err;
  // history --tree: oldest first, a bar per layer against the largest, the step that made it.
  RunResult r = RunImgbuild("history --tree --root " + root_ + " pic:1");
  ASSERT_EQ(r.code, 0) << r.err;
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 6u) << r.out;
  EXPECT_EQ(lines[0].rfind("pic:1  ", 0), 0u) << r.out;
  EXPECT_NE(lines[0].find("2 layers, 2.33MB"), std::string::npos) << r.out;
  EXPECT_NE(lines[1].find("├─   2.13MB ########################  COPY rootfs/ /"), std::string::npos) << r.out;
  EXPECT_NE(lines[4].find("ENV A=1"), std::string::npos) << r.out;
  EXPECT_NE(lines[4].find("0B ........................  ENV"), std::string::npos) << r.out;
  EXPECT_EQ(lines[5].rfind("└─ ", 0), 0u) << r.out;
  EXPECT_NE(lines[5].find("202kB ##......................  RUN"), std::string::npos) << r.out;  // a short bar
  EXPECT_NE(lines[5].find("RUN /bin/sh -c head -c 200000"), std::string::npos) << r.out;
  // du: what prune and prune -a reclaim, the cache against its bound, and -v every record.
  r = RunImgbuild("du --root " + root_, "", "IMGBUILD_CACHE_LIMIT=100MB");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("KIND             SIZE       RECLAIMABLE\n", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("images"), std::string::npos);
  EXPECT_NE(r.out.find("reclaimable: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("build cache [#"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("of its 100.0 MiB bound"), std::string::npos) << r.out;
  r = RunImgbuild("du -v --root " + root_);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("ID             LAST USED"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("RUN head -c 200000 /dev/zero > /big"), std::string::npos) << r.out;
  auto j = nlohmann::json::parse(RunImgbuild("du -v --json --root " + root_).out);
  EXPECT_GT(j["reclaimable"]["prune -a"].get<int64_t>(), 0);
  EXPECT_FALSE(j["cache records"].empty());
}

}  // namespace
}  // namespace imgbuild::testing
