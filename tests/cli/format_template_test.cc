// --format templates: the subset of Go's text/template docker users write, printed as Go prints.
#include "builder/cli/format_template.h"

#include <gtest/gtest.h>

namespace imgbuild::builder {
namespace {

const nlohmann::ordered_json kDoc = nlohmann::ordered_json::parse(R"({
  "Id": "sha256:abc", "RepoTags": ["a:1", "b:2"], "Size": 2129385, "Empty": [],
  "Config": {"Env": ["PATH=/bin", "X=1"], "Labels": {"z": "1", "a": "2"}, "Cmd": null, "User": ""}
})");

std::string R(const std::string& t) { return FormatTemplate(t).Render(kDoc); }

TEST(FormatTemplate, FieldsPrintAsGoPrintsThem) {
  EXPECT_EQ(R("{{.Id}}"), "sha256:abc");
  EXPECT_EQ(R("id={{.Id}} size={{.Size}}"), "id=sha256:abc size=2129385");
  EXPECT_EQ(R("{{.RepoTags}}"), "[a:1 b:2]");
  EXPECT_EQ(R("{{.Config.Labels}}"), "map[a:2 z:1]");  // keys sorted, as Go prints a map
  EXPECT_EQ(R("{{.Config.Cmd}}"), "<no value>");
  EXPECT_EQ(R("{{.Missing.Deeper}}"), "<no value>");
  EXPECT_EQ(R("[{{.Config.User}}]"), "[]");
  EXPECT_EQ(R("{{.Empty}}"), "[]");
}

TEST(FormatTemplate, Functions) {
  EXPECT_EQ(R("{{json .Config.Env}}"), R"(["PATH=/bin","X=1"])");
  EXPECT_EQ(R("{{json .}}").substr(0, 14), R"({"Id":"sha256:)");
  EXPECT_EQ(R("{{index .Config.Labels \"z\"}}"), "1");
  EXPECT_EQ(R("{{index .Config.Env 1}}"), "X=1");
  EXPECT_EQ(R("{{join .RepoTags \", \"}}"), "a:1, b:2");
  EXPECT_EQ(R("{{upper .Id}}"), "SHA256:ABC");
  EXPECT_EQ(R("{{println .Id .Size}}"), "sha256:abc 2129385\n");
}

TEST(FormatTemplate, EscapesAndTrimming) {
  EXPECT_EQ(R("{{.Id}}\\t{{.Size}}\\n"), "sha256:abc\t2129385\n");
  EXPECT_EQ(R("a  {{- .Id -}}  b"), "asha256:abcb");
  EXPECT_EQ(FormatTemplate("{{.A}}\\t{{.B.C}}").Fields(), (std::vector<std::string>{".A", ".B.C"}));
}

TEST(FormatTemplate, UnsupportedActionsAreRefusedUpFront) {
  EXPECT_THROW(FormatTemplate("{{range .RepoTags}}{{.}}{{end}}"), TemplateError);
  EXPECT_THROW(FormatTemplate("{{if .Id}}x{{end}}"), TemplateError);
  EXPECT_THROW(FormatTemplate("{{.Id | upper}}"), TemplateError);
  EXPECT_THROW(FormatTemplate("{{.Id"), TemplateError);
  EXPECT_THROW(FormatTemplate("{{}}"), TemplateError);
  EXPECT_THROW(FormatTemplate("{{index .Config.Env}}"), TemplateError);
  EXPECT_THROW(FormatTemplate("{{json \"unterminated}}"), TemplateError);
  EXPECT_THROW(FormatTemplate("{{.Id}}").Render(kDoc) + FormatTemplate("{{join .Id \",\"}}").Render(kDoc), TemplateError);
}

}  // namespace
}  // namespace imgbuild::builder
