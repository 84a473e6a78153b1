#include "host_table_events.hpp"

#include <array>
#include <sstream>
#include <string_view>
#include <unordered_set>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include "yaml_reader.hpp"

namespace lon {
namespace {

// yaml-cpp builds its node tree (YAML::Load) from these same events, so what the tree reader
// sees is a function of them: a tag changes nothing it reads, an anchor neither; only an alias
// makes a node stand for another, and is left to the tree.
class PlainHostsReader final : public YAML::EventHandler {
public:
    [[nodiscard]] bool ok() const { return !failed_ && state_ == State::done; }
    std::vector<HostEntry>& entries() { return entries_; }

    void OnDocumentStart(const YAML::Mark&) override {}
    void OnDocumentEnd() override {}

    void OnNull(const YAML::Mark&, YAML::anchor_t) override {
        if (state_ == State::host_value) {
            value(nullptr, 0);
        } else {
            fail();
        }
    }
    void OnAlias(const YAML::Mark&, YAML::anchor_t) override { fail(); }

    void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  const std::string& v) override {
        switch (state_) {
        case State::root_key:
            if (v == "hosts" && !seen_hosts_) {
                seen_hosts_ = true;
                state_ = State::hosts_value;
            } else {
                fail();
            }
            break;
        case State::host_key: key(v); break;
        case State::host_value: value(&v, mark.line + 1); break;
        default: fail();
        }
    }

    void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                         YAML::EmitterStyle::value) override {
        step(State::hosts_value, State::items);
    }
    void OnSequenceEnd() override { step(State::items, State::root_key); }

    void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                    YAML::EmitterStyle::value) override {
        if (state_ == State::start) {
            state_ = State::root_key;
        } else if (state_ == State::items) {
            entry_ = HostEntry{};
            seen_.fill(false);
            state_ = State::host_key;
        } else {
            fail();
        }
    }
    void OnMapEnd() override {
        if (state_ == State::root_key) {
            state_ = seen_hosts_ ? State::done : State::start;
            failed_ = failed_ || !seen_hosts_;
        } else if (state_ == State::host_key) {
            end_entry();
        } else {
            fail();
        }
    }

private:
    enum class State { start, root_key, hosts_value, items, host_key, host_value, done };
    enum Field { id, address, port, domain, role, field_count };

    void fail() { failed_ = true; }
    void step(State from, State to) {
        if (state_ == from) {
            state_ = to;
        } else {
            fail();
        }
    }

    void key(const std::string& k) {
        static constexpr std::array<std::string_view, field_count> names{"id", "address", "port",
                                                                          "domain", "role"};
        for (int f = 0; f < field_count; ++f) {
            if (k == names[static_cast<std::size_t>(f)]) {
                if (seen_[static_cast<std::size_t>(f)]) {
                    break; // given twice: the tree reader says so
                }
                seen_[static_cast<std::size_t>(f)] = true;
                field_ = static_cast<Field>(f);
                state_ = State::host_value;
                return;
            }
        }
        fail();
    }

    /// `v` null for a YAML null. What YamlReader's get_string, get_int and
    /// get_optional_string accept, and nothing else.
    void value(const std::string* v, int line) {
        state_ = State::host_key;
        Host& h = entry_.host;
        bool empty = v == nullptr || v->empty();
        switch (field_) {
        case id:
            if (empty || !valid_host_id(*v) || !ids_.insert(*v).second) {
                fail();
            } else {
                h.id = *v;
            }
            break;
        case address:
            if (empty) {
                fail();
            } else {
                h.address = *v;
                entry_.address_line = line;
            }
            break;
        case port:
            if (auto p = v ? parse_config_int(*v) : std::nullopt; p && *p >= 1 && *p <= 65535) {
                h.port = static_cast<std::uint16_t>(*p);
            } else {
                fail();
            }
            break;
        case domain: h.domain = empty ? "" : *v; break;
        case role: h.role = empty ? "" : *v; break;
        case field_count: fail(); break;
        }
    }

    void end_entry() {
        state_ = State::items;
        if (!seen_[id] || !seen_[address]) {
            fail();
            return;
        }
        entries_.push_back(std::move(entry_));
    }

    State state_ = State::start;
    bool failed_ = false;
    bool seen_hosts_ = false;
    std::vector<HostEntry> entries_;
    HostEntry entry_;
    std::array<bool, field_count> seen_{};
    Field field_ = id;
    std::unordered_set<std::string> ids_;
};

} // namespace

std::optional<std::vector<HostEntry>> read_plain_hosts_yaml(const std::string& text) {
    PlainHostsReader reader;
    try {
        std::istringstream in(text);
        YAML::Parser parser(in);
        parser.HandleNextDocument(reader);
    } catch (const YAML::Exception&) {
        return std::nullopt;
    }
    if (!reader.ok()) {
        return std::nullopt;
    }
    return std::move(reader.entries());
}

} // namespace lon
