#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "config.hpp"

/// A private temporary folder for one test, removed with everything in it.
class TempDir {
public:
    TempDir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "lonlink-unit.XXXXXX").string();
        if (::mkdtemp(tmpl.data()) == nullptr) {
            throw std::runtime_error("mkdtemp failed");
        }
        path_ = tmpl;
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    [[nodiscard]] const std::filesystem::path& path() const { return path_; }
    /// Writes `text` to `name` inside the folder; returns its path.
    std::filesystem::path write(const std::string& name, const std::string& text) const {
        auto p = path_ / name;
        std::filesystem::create_directories(p.parent_path());
        std::ofstream(p) << text;
        return p;
    }

private:
    std::filesystem::path path_;
};

/// Runs `load` (which may throw lon::ConfigError) and returns the error message with `dir`'s
/// path shown as "DIR" (messages must not depend on the temp folder's name); "" when it loads.
template <class Load>
std::string config_error(const TempDir& dir, Load load) {
    try {
        load();
    } catch (const lon::ConfigError& e) {
        std::string msg = e.what();
        auto at = msg.find(dir.path().string());
        if (at != std::string::npos) {
            msg.replace(at, dir.path().string().size(), "DIR");
        }
        return msg;
    }
    return "";
}
