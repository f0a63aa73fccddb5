// AST -> Program: gives each instruction its type, checks flags, argument counts, stage names
// and ONBUILD triggers, and collects build-check warnings. Throws ParseError with the location of
// the offending word.
#pragma once

#include "frontend/ast.h"
#include "frontend/instructions.h"

namespace imgbuild::frontend {

Program Lower(const ast::File& file);

// Parse + Lower.
Program ParseProgram(std::string_view text, std::string file_name = "Buildfile");

// Every instruction keyword of the stable syntax, upper case.
const std::vector<std::string>& InstructionKeywords();

}  // namespace imgbuild::frontend
