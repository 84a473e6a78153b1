#pragma once

// A private temporary folder for a fuzz target's files, made once and removed at exit.

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "fuzz_check.hpp"

class FuzzWorkdir {
public:
    FuzzWorkdir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "lonlink-fuzz.XXXXXX").string();
        FUZZ_CHECK(::mkdtemp(tmpl.data()) != nullptr);
        path_ = tmpl;
    }
    FuzzWorkdir(const FuzzWorkdir&) = delete;
    FuzzWorkdir& operator=(const FuzzWorkdir&) = delete;
    ~FuzzWorkdir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    [[nodiscard]] const std::filesystem::path& path() const { return path_; }
    std::filesystem::path write(const std::string& name, const char* data, std::size_t size) const {
        auto p = path_ / name;
        std::ofstream out(p, std::ios::binary | std::ios::trunc);
        out.write(data, static_cast<std::streamsize>(size));
        out.close();
        FUZZ_CHECK(out.good());
        return p;
    }

private:
    std::filesystem::path path_;
};
