#pragma once

// The Prometheus text exposition format (version 0.0.4), as read by node_exporter's textfile
// collector: "# HELP", "# TYPE", then the samples of each family together. Pure: builds a
// string, writes nothing.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lon {

enum class PromType { counter, gauge };

using PromLabels = std::vector<std::pair<std::string, std::string>>;

/// A metric name: [a-zA-Z_:][a-zA-Z0-9_:]*.
[[nodiscard]] bool prom_valid_name(std::string_view name);
/// A label name: [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__" (reserved).
[[nodiscard]] bool prom_valid_label_name(std::string_view name);
/// A label value as it goes between the quotes: \ " and newline escaped.
[[nodiscard]] std::string prom_escape_label(std::string_view value);
/// HELP text as it goes on its line: \ and newline escaped.
[[nodiscard]] std::string prom_escape_help(std::string_view text);
/// A sample value: integers as such, others as the shortest exact decimal, NaN, +Inf, -Inf.
[[nodiscard]] std::string prom_value(double value);

/// One exposition being built. Families come out in the order they were declared, each with
/// its HELP and TYPE lines and then its samples, whatever order the samples were added in.
class PromText {
public:
    /// Declares a family. Returns false (and keeps nothing) for an invalid name, a counter
    /// whose name does not end in "_total", or a name declared before.
    bool declare(std::string_view name, PromType type, std::string_view help);
    /// Adds a sample to a declared family. Returns false (and keeps nothing) for an
    /// undeclared family or an invalid label name.
    bool sample(std::string_view name, const PromLabels& labels, double value);
    /// The whole exposition, every line ending in '\n'.
    [[nodiscard]] std::string text() const;

private:
    struct Family {
        std::string name, help;
        PromType type;
        std::vector<std::string> samples;
    };
    std::vector<Family> families_;
};

} // namespace lon
