#include "spool.hpp"

#include <algorithm>
#include <array>
#include <fstream>
#include <iterator>

#include <openssl/rand.h>

#include "critical.hpp"

namespace lon::lonc {

Spool::Spool(asio::io_context& io, std::filesystem::path dir, std::size_t max_entries)
    : dir_(std::move(dir)), max_entries_(max_entries), writer_(io) {}

std::size_t Spool::load() {
    entries_.clear();
    by_id_.clear();
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator(dir_, ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
        std::string name = it->path().filename().string();
        auto parsed = proto::parse_spool_name(name);
        if (!parsed) {
            // A temp file from a write cut short: its request was never acknowledged to a
            // client as spooled.
            std::error_code rec;
            std::filesystem::remove(it->path(), rec);
            continue;
        }
        std::string id(parsed->id);
        if (by_id_.count(id) > 0) {
            continue; // cannot happen with random ids; never send one id for two requests
        }
        entries_[name] = id;
        by_id_[id] = name;
        next_seq_ = std::max(next_seq_, parsed->seq + 1);
    }
    return entries_.size();
}

void Spool::add(std::string request, AddDone done) {
    if (size() >= max_entries_) {
        done(Added::full, {});
        return;
    }
    std::array<std::uint8_t, proto::critical_id_bytes> random{};
    if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1) {
        done(Added::failed, {});
        return;
    }
    std::string id = proto::format_critical_id(random);
    std::string name = proto::format_spool_name(next_seq_++, id);
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    if (ec) {
        done(Added::failed, {});
        return;
    }
    ++adding_;
    writer_.write(dir_ / name, std::move(request),
                  [this, id, name, done = std::move(done)](bool ok) {
                      --adding_;
                      if (!ok) {
                          done(Added::failed, id);
                          return;
                      }
                      entries_[name] = id;
                      by_id_[id] = name;
                      done(Added::ok, id);
                  });
}

std::vector<std::string> Spool::oldest(std::size_t n,
                                       const std::function<bool(const std::string&)>& skip) const {
    std::vector<std::string> ids;
    for (const auto& [name, id] : entries_) {
        if (ids.size() >= n) {
            break;
        }
        if (!skip(id)) {
            ids.push_back(id);
        }
    }
    return ids;
}

std::optional<std::string> Spool::read(const std::string& id) const {
    auto it = by_id_.find(id);
    if (it == by_id_.end()) {
        return std::nullopt;
    }
    std::ifstream in(dir_ / it->second, std::ios::binary);
    if (!in) {
        return std::nullopt;
    }
    std::string request((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) {
        return std::nullopt;
    }
    return request;
}

void Spool::remove(const std::string& id, RemoveDone done) {
    auto it = by_id_.find(id);
    if (it == by_id_.end()) {
        done(true);
        return;
    }
    std::string name = it->second;
    writer_.remove(dir_ / name, [this, id, name, done = std::move(done)](bool ok) {
        std::error_code ec;
        if (ok || !std::filesystem::exists(dir_ / name, ec)) {
            entries_.erase(name);
            by_id_.erase(id);
        }
        done(ok);
    });
}

} // namespace lon::lonc
