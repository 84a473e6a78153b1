#pragma once

// The durable spool of one peer's lonc child: `lonc:critical:` requests, one file per
// request under <spool_dir>/<peer>/<seq>-<id> (proto/critical.hpp), written with fsync before
// the client hears anything, delivered oldest first, removed (with fsync) once the peer has
// answered. The mirror of lond's CriticalLog. Ids are 128 random bits (OpenSSL RAND_bytes);
// seq orders delivery and continues after the highest one found at load. At most
// `max_entries` requests; fsyncs run on one worker thread (link::DurableWriter).

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <asio.hpp>

#include "durable_writer.hpp"

namespace lon::lonc {

class Spool final {
public:
    enum class Added { ok, full, failed };
    using AddDone = std::function<void(Added result, const std::string& id)>;
    using RemoveDone = std::function<void(bool ok)>;

    Spool(asio::io_context& io, std::filesystem::path dir, std::size_t max_entries);
    Spool(const Spool&) = delete;
    Spool& operator=(const Spool&) = delete;

    /// Reads the folder (a child starting over a spool left by the previous one); removes
    /// temp files a crash left behind. Returns the number of entries.
    std::size_t load();
    /// Entries on disk, plus those being added.
    [[nodiscard]] std::size_t size() const { return entries_.size() + adding_; }
    [[nodiscard]] bool empty() const { return size() == 0; }
    [[nodiscard]] const std::filesystem::path& dir() const { return dir_; }

    /// Spools `request` under a fresh id: `done(ok, id)` once it is on disk (fsync'ed);
    /// `done(full)` at once when max_entries are spooled; `done(failed)` when it could not be
    /// written (no random id, folder or disk trouble).
    void add(std::string request, AddDone done);
    /// Up to `n` ids, oldest first, for which `skip(id)` is false.
    [[nodiscard]] std::vector<std::string> oldest(std::size_t n,
                                                  const std::function<bool(const std::string&)>& skip) const;
    /// The request spooled under `id` (read from its file), nullopt if gone or unreadable.
    [[nodiscard]] std::optional<std::string> read(const std::string& id) const;
    /// Removes `id` from disk (fsync'ed folder), then from the index; done(ok). An entry
    /// being removed stays listed until then (the caller keeps it from being resent).
    void remove(const std::string& id, RemoveDone done);

private:

    std::filesystem::path dir_;
    std::size_t max_entries_;
    link::DurableWriter writer_;
    /// File name -> id. Names sort in delivery order (seq is zero-padded); an older lonc's
    /// entries (named by their time-ordered id) sort among themselves and after new ones.
    std::map<std::string, std::string> entries_;
    std::map<std::string, std::string> by_id_; ///< id -> file name
    std::uint64_t next_seq_ = 1;
    std::size_t adding_ = 0;
};

} // namespace lon::lonc
