import CairnCore
import CairnEngine
import Foundation

/// The run report: `report.html` beside each run's journal — a per-host timeline (a Gantt
/// chart of phases and actions, inline SVG, no scripts) and the gate results.
public enum RunReport {
    struct Bar {
        let host: String
        let phase: String
        let label: String
        let start: Double
        let end: Double
        let failed: Bool
    }

    struct PhaseSpan {
        let name: String
        let start: Double
        var end: Double
        var outcome: String
    }

    struct GateResult {
        let phase: String
        let gate: String
        let passed: Bool
        let message: String
        let seconds: Double
    }

    /// Renders the report of the run whose journal is `journal`; returns the HTML.
    public static func render(journal: URL) throws -> String {
        var bars: [Bar] = []
        var phases: [PhaseSpan] = []
        var gates: [GateResult] = []
        var facts: [Bar] = []
        var hosts: [String] = []
        var run = ""
        var mode = ""
        var outcome = ""
        var total = 0.0
        for entry in try JournalEntry.read(journal) {
            let t = entry.t ?? 0
            let ms = Double(entry.ms ?? 0)
            switch entry.event {
            case "run-started":
                run = entry.run ?? ""
                mode = entry.mode ?? ""
                hosts = entry.hosts ?? []
            case "phase-started":
                phases.append(PhaseSpan(name: entry.phase ?? "", start: t, end: t, outcome: "running"))
            case "phase-finished":
                if let index = phases.lastIndex(where: { $0.name == entry.phase }) {
                    phases[index].end = t
                    phases[index].outcome = entry.outcome ?? ""
                }
            case "facts-gathered":
                facts.append(
                    Bar(
                        host: entry.host ?? "", phase: entry.phase ?? "", label: "facts", start: max(0, t - ms / 1000),
                        end: t, failed: false))
            case "action-finished":
                let host = entry.host ?? ""
                if !hosts.contains(host) { hosts.append(host) }
                bars.append(
                    Bar(
                        host: host, phase: entry.phase ?? "", label: entry.summary ?? "", start: max(0, t - ms / 1000),
                        end: t,
                        failed: entry.ok == false))
            case "gate-finished":
                gates.append(
                    GateResult(
                        phase: entry.phase ?? "", gate: entry.gate ?? "", passed: entry.passed ?? false,
                        message: entry.message ?? "", seconds: ms / 1000))
            case "run-finished":
                outcome = entry.outcome ?? ""
                total = t
            default:
                break
            }
        }
        total = max(total, bars.map(\.end).max() ?? 0, phases.map(\.end).max() ?? 0, 0.001)
        return html(
            run: run, mode: mode, outcome: outcome, total: total, hosts: hosts, phases: phases, bars: bars + facts,
            gates: gates)
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    static let palette = [
        "#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#ff9da7", "#9c755f", "#bab0ac", "#e15759",
    ]

    static func html(
        run: String, mode: String, outcome: String, total: Double, hosts: [String], phases: [PhaseSpan],
        bars: [Bar], gates: [GateResult]
    ) -> String {
        let rowHeight = 22.0
        let labelWidth = 110.0
        let width = 1100.0
        let top = 40.0
        let chartWidth = width - labelWidth - 10
        func x(_ t: Double) -> Double { labelWidth + t / total * chartWidth }
        let colors = Dictionary(
            uniqueKeysWithValues: phases.map(\.name).enumerated().map { ($1, palette[$0 % palette.count]) })
        let rows = hosts.isEmpty ? Array(Set(bars.map(\.host))).sorted() : hosts
        let height = top + Double(rows.count) * rowHeight + 30
        var svg = [
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-family=\"sans-serif\" font-size=\"11\">"
        ]
        // Phase bands across the top.
        for phase in phases {
            let w = max(1, x(phase.end) - x(phase.start))
            svg.append(
                "<rect x=\"\(fmt(x(phase.start)))\" y=\"4\" width=\"\(fmt(w))\" height=\"14\" fill=\"\(colors[phase.name] ?? "#999")\" opacity=\"0.85\"><title>\(escape(phase.name)): \(fmt(phase.end - phase.start)) s, \(escape(phase.outcome))</title></rect>"
            )
            if w > 40 {
                svg.append(
                    "<text x=\"\(fmt(x(phase.start) + 2))\" y=\"15\" fill=\"#fff\">\(escape(String(phase.name.prefix(Int(w / 6)))))</text>"
                )
            }
        }
        for (index, host) in rows.enumerated() {
            let y = top + Double(index) * rowHeight
            svg.append("<text x=\"4\" y=\"\(fmt(y + 14))\">\(escape(host))</text>")
            svg.append(
                "<line x1=\"\(fmt(labelWidth))\" y1=\"\(fmt(y + rowHeight - 1))\" x2=\"\(fmt(width - 10))\" y2=\"\(fmt(y + rowHeight - 1))\" stroke=\"#eee\"/>"
            )
            for bar in bars where bar.host == host {
                let w = max(1.5, x(bar.end) - x(bar.start))
                let fill = bar.failed ? "#d62728" : (colors[bar.phase] ?? "#999")
                let opacity = bar.label == "facts" ? "0.35" : "0.9"
                svg.append(
                    "<rect x=\"\(fmt(x(bar.start)))\" y=\"\(fmt(y + 3))\" width=\"\(fmt(w))\" height=\"\(fmt(rowHeight - 7))\" fill=\"\(fill)\" opacity=\"\(opacity)\"><title>\(escape(bar.phase)): \(escape(bar.label)) (\(fmt(bar.end - bar.start)) s)</title></rect>"
                )
            }
        }
        let axisY = top + Double(rows.count) * rowHeight + 14
        let ticks = 10
        for tick in 0...ticks {
            let t = total * Double(tick) / Double(ticks)
            svg.append("<text x=\"\(fmt(x(t) - 8))\" y=\"\(fmt(axisY))\" fill=\"#666\">\(fmt(t))s</text>")
        }
        svg.append("</svg>")

        var gateRows = gates.map { gate in
            "<tr><td>\(escape(gate.phase))</td><td>\(escape(gate.gate))</td><td class=\"\(gate.passed ? "ok" : "bad")\">\(gate.passed ? "passed" : "failed")</td><td>\(fmt(gate.seconds)) s</td><td>\(escape(gate.message))</td></tr>"
        }
        if gateRows.isEmpty { gateRows = ["<tr><td colspan=\"5\">no gates ran</td></tr>"] }
        let phaseRows = phases.map { phase in
            "<tr><td><span class=\"swatch\" style=\"background:\(colors[phase.name] ?? "#999")\"></span>\(escape(phase.name))</td><td>\(escape(phase.outcome))</td><td>\(fmt(phase.end - phase.start)) s</td><td>\(bars.filter { $0.phase == phase.name && $0.label != "facts" }.count)</td></tr>"
        }
        let slowest = Dictionary(grouping: bars.filter { $0.label != "facts" }, by: \.host)
            .map { ($0.key, $0.value.reduce(0) { $0 + ($1.end - $1.start) }) }.sorted { $0.1 > $1.1 }.prefix(5)
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>cairn \(escape(mode)) \(escape(run))</title>
            <style>
            body { font-family: sans-serif; margin: 24px; color: #222; }
            table { border-collapse: collapse; margin: 12px 0 24px; }
            td, th { border-bottom: 1px solid #ddd; padding: 4px 10px; text-align: left; font-size: 13px; }
            .ok { color: #2a7d2a; } .bad { color: #c0262d; font-weight: bold; }
            .swatch { display: inline-block; width: 10px; height: 10px; margin-right: 6px; }
            </style></head><body>
            <h1>cairn \(escape(mode)) — run \(escape(run))</h1>
            <p>Outcome: <strong class="\(outcome == "succeeded" ? "ok" : "bad")">\(escape(outcome.isEmpty ? "unfinished (killed?)" : outcome))</strong>,
            \(fmt(total)) s, \(bars.filter { $0.label != "facts" }.count) actions on \(rows.count) hosts.</p>
            <h2>Timeline</h2>
            <p>One row per host; bars are actions (pale: fact gathering), coloured by phase; red bars failed. Hover for details.</p>
            \(svg.joined(separator: "\n"))
            <h2>Phases</h2>
            <table><tr><th>phase</th><th>outcome</th><th>duration</th><th>actions</th></tr>
            \(phaseRows.joined(separator: "\n"))
            </table>
            <h2>Verification gates</h2>
            <table><tr><th>phase</th><th>gate</th><th>result</th><th>waited</th><th>message</th></tr>
            \(gateRows.joined(separator: "\n"))
            </table>
            <h2>Busiest hosts</h2>
            <table><tr><th>host</th><th>time in actions</th></tr>
            \(slowest.map { "<tr><td>\(escape($0.0))</td><td>\(fmt($0.1)) s</td></tr>" }.joined(separator: "\n"))
            </table>
            </body></html>

            """
    }

    static func fmt(_ value: Double) -> String { String(format: "%.2f", value) }
}
