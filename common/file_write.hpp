#pragma once

// Whole-file writers for status files, pins and durable records: a reader sees the old
// content or the new, never a mix.

#include <filesystem>
#include <string_view>

namespace lon {

/// Writes `content` to `path` atomically (temp file in the same folder + rename), mode 0644.
/// Returns false on failure (errno kept).
bool write_file_atomic(const std::filesystem::path& path, std::string_view content);

/// Like write_file_atomic, but durable (mode 0600): the data and the rename are fsync'ed
/// (file, then its folder) before it returns true, so the file survives a crash or power loss.
bool write_file_durable(const std::filesystem::path& path, std::string_view content);

} // namespace lon
