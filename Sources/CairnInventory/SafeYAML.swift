import Foundation
import Yams

/// Reads untrusted YAML into a Yams `Node` without hanging, exhausting memory or overflowing the stack.
///
/// What Yams (libyaml underneath) does and what guards it here, each verified by a test:
/// - libyaml refuses nesting deeper than 1000 levels, but Yams composes recursively: 999 levels take
///   more than 512 KiB of stack in a debug build. `onLargeStack` runs the parse on a thread with 16 MiB.
/// - Aliases are composed as shared references, so a "billion laughs" document composes in
///   microseconds; anything that walks it expanded must count its steps (`DecodeContext` does).
/// - Yams hashes every mapping key to find duplicates, and hashing walks the key expanded: an alias
///   bomb used as a key (`? *bomb`) never returns. `complexKeyWithAliases` refuses documents that use
///   aliases together with anything that could make a non-string key, before Yams sees them.
/// - Input is limited to `maxBytes`.
enum SafeYAML {
    static let maxBytes = 4 << 20
    static let stackSize = 16 << 20

    struct Problem: Error {
        var line: Int?
        var column: Int?
        var message: String
        var hint: String?
    }

    /// The document's root, nil for an empty document.
    static func compose(_ text: String) -> Result<Node?, Problem> {
        if text.utf8.count > maxBytes {
            return .failure(
                Problem(message: "the file is \(text.utf8.count) bytes; inventories are limited to \(maxBytes) bytes"))
        }
        if let problem = complexKeyWithAliases(Array(text.utf8)) {
            return .failure(problem)
        }
        do {
            return .success(try Yams.compose(yaml: text, .default, .default, .utf8))
        } catch let error as YamlError {
            return .failure(problem(from: error))
        } catch {
            return .failure(Problem(message: "YAML error: \(error)"))
        }
    }

    static func problem(from error: YamlError) -> Problem {
        switch error {
        case .scanner(let context, let problem, let mark, _),
            .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            var message = "YAML syntax error: \(problem)"
            if let context, !context.text.isEmpty {
                message += " (\(context.text) started at line \(context.mark.line), column \(context.mark.column))"
            }
            return Problem(line: mark.line, column: mark.column, message: message)
        case .duplicatedKeysInMapping(let duplicates, let context):
            let names = duplicates.map { "\"\($0)\"" }.joined(separator: ", ")
            return Problem(
                line: context.mark.line, column: context.mark.column,
                message: "duplicate key \(names) in a mapping", hint: "each key may appear once; merge the entries")
        case .reader(let problem, let offset, _, let yaml):
            var line: Int?
            var column: Int?
            if let offset, offset >= 0 {
                let prefix = yaml.utf8.prefix(offset)
                line = prefix.filter { $0 == 10 }.count + 1
                column = prefix.reversed().prefix { $0 != 10 }.count + 1
            }
            return Problem(line: line, column: column, message: "the file is not readable YAML text: \(problem)")
        default:
            return Problem(message: "YAML error: \(error)")
        }
    }

    /// Finds the first place where a mapping key could be something other than a plain scalar while
    /// the document also uses an alias. Errs on the side of refusing: it reads bytes, not YAML, so an
    /// `*` or `?` inside a quoted string or comment also counts.
    static func complexKeyWithAliases(_ bytes: [UInt8]) -> Problem? {
        var firstAlias: (line: Int, column: Int)?
        var firstComplexKey: (line: Int, column: Int)?
        var line = 1
        var lineStart = 0

        func isBlank(_ byte: UInt8) -> Bool { byte == 32 || byte == 9 || byte == 10 || byte == 13 }
        func isFlowIndicator(_ byte: UInt8) -> Bool {
            byte == UInt8(ascii: ",") || byte == UInt8(ascii: "[") || byte == UInt8(ascii: "]")
                || byte == UInt8(ascii: "{") || byte == UInt8(ascii: "}")
        }
        func atTokenStart(_ index: Int) -> Bool {
            guard index > 0 else { return true }
            let previous = bytes[index - 1]
            return isBlank(previous) || previous == UInt8(ascii: "[") || previous == UInt8(ascii: "{")
                || previous == UInt8(ascii: ",") || previous == UInt8(ascii: ":")
        }
        // The index of the next meaningful byte after `index`, skipping blanks, line breaks, comments,
        // and (when asked) anchors and tags.
        func nextSignificant(from index: Int, skippingProperties: Bool) -> Int {
            var i = index
            while i < bytes.count {
                let byte = bytes[i]
                if isBlank(byte) {
                    i += 1
                } else if byte == UInt8(ascii: "#") && (i == 0 || isBlank(bytes[i - 1])) {
                    while i < bytes.count && bytes[i] != 10 { i += 1 }
                } else if skippingProperties && (byte == UInt8(ascii: "&") || byte == UInt8(ascii: "!")) {
                    while i < bytes.count && !isBlank(bytes[i]) && !isFlowIndicator(bytes[i]) { i += 1 }
                } else {
                    break
                }
            }
            return i
        }

        var i = 0
        while i < bytes.count {
            let byte = bytes[i]
            if byte == 10 {
                line += 1
                lineStart = i + 1
                i += 1
                continue
            }
            let here = (line: line, column: i - lineStart + 1)
            switch byte {
            case UInt8(ascii: "*") where atTokenStart(i):
                var end = i + 1
                while end < bytes.count && !isBlank(bytes[end]) && !isFlowIndicator(bytes[end]) { end += 1 }
                if end > i + 1 {
                    if firstAlias == nil { firstAlias = here }
                    let name = bytes[(i + 1)..<end]
                    let next = nextSignificant(from: end, skippingProperties: false)
                    if name.contains(UInt8(ascii: ":")) || (next < bytes.count && bytes[next] == UInt8(ascii: ":")) {
                        if firstComplexKey == nil { firstComplexKey = here }
                    }
                }
            case UInt8(ascii: "?") where atTokenStart(i):
                if firstComplexKey == nil { firstComplexKey = here }
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                let next = nextSignificant(from: i + 1, skippingProperties: false)
                if next < bytes.count && bytes[next] == UInt8(ascii: ":") && firstComplexKey == nil {
                    firstComplexKey = here
                }
            case UInt8(ascii: "{"), UInt8(ascii: ","):
                // In a flow mapping, an entry without ':' is a key: `{ *alias }`, `{ [a] }`.
                let next = nextSignificant(from: i + 1, skippingProperties: true)
                if next < bytes.count, [UInt8(ascii: "*"), UInt8(ascii: "["), UInt8(ascii: "{")].contains(bytes[next]),
                    firstComplexKey == nil
                {
                    firstComplexKey = here
                }
            default:
                break
            }
            if let alias = firstAlias, let key = firstComplexKey {
                return Problem(
                    line: key.line, column: key.column,
                    message:
                        "this document uses YAML aliases (the first at line \(alias.line), column \(alias.column)) "
                        + "and here a construct that can make a mapping key out of a list, a mapping or an alias "
                        + "(`? key`, `[...]: value`, `*alias: value`, or a flow entry starting with `*`, `[` or `{`); "
                        + "Cairn refuses that combination because such keys can expand without bound",
                    hint: "write keys as plain strings, or write the list in block style (one `- item` per line)"
                )
            }
            i += 1
        }
        return nil
    }

    /// Runs `body` on a thread with a large stack and waits for it.
    static func onLargeStack<T: Sendable>(_ body: @escaping () -> T) -> T {
        let box = Box(body)
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            box.run()
            done.signal()
        }
        thread.stackSize = stackSize
        thread.start()
        done.wait()
        return box.result!
    }

    private final class Box<T>: @unchecked Sendable {
        // Written once by the worker thread before the semaphore is signalled, read after the wait.
        private let body: () -> T
        var result: T?
        init(_ body: @escaping () -> T) { self.body = body }
        func run() { result = body() }
    }
}
