internal import CYaml
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
///   bomb used as a key (`? *bomb`) never returns. `aliasInMappingKey` refuses a document with an alias
///   inside a mapping key, from libyaml's parse events, before Yams composes it.
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
        if let problem = aliasInMappingKey(text) {
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

    /// Finds the first alias used inside a mapping key (`*a: x`, `? [*a]`, `{*a}`), reading libyaml's
    /// parse events: no node is composed and no key is hashed, so the walk is linear in the input.
    /// Quoted strings, comments and block scalars are values to the parser, never keys or aliases, so
    /// `"/export *(rw,sync)"` or `"{{ name }}"` pass. A document libyaml cannot parse is left to
    /// `Yams.compose` to report, unless the part before the syntax error already shows such a key.
    static func aliasInMappingKey(_ text: String) -> Problem? {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { return nil }
        defer { yaml_parser_delete(&parser) }
        yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBufferPointer { buffer -> Problem? in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            // One frame per open collection: whether it is (inside) a mapping key, and for a mapping
            // whether its next node is a key.
            var frames: [(inKey: Bool, isMapping: Bool, expectsKey: Bool)] = []
            var event = yaml_event_t()
            while yaml_parser_parse(&parser, &event) == 1 {
                defer { yaml_event_delete(&event) }
                let type = event.type
                if type == YAML_STREAM_END_EVENT { return nil }
                if type == YAML_SEQUENCE_END_EVENT || type == YAML_MAPPING_END_EVENT {
                    _ = frames.popLast()
                    continue
                }
                guard
                    type == YAML_ALIAS_EVENT || type == YAML_SCALAR_EVENT || type == YAML_SEQUENCE_START_EVENT
                        || type == YAML_MAPPING_START_EVENT
                else { continue }
                // A node starts: is it a key, or inside one?
                var inKey = false
                if let parent = frames.indices.last {
                    inKey = frames[parent].inKey || (frames[parent].isMapping && frames[parent].expectsKey)
                    if frames[parent].isMapping { frames[parent].expectsKey.toggle() }
                }
                if type == YAML_ALIAS_EVENT && inKey {
                    let name = event.data.alias.anchor.map { String(cString: $0) } ?? ""
                    return Problem(
                        line: Int(event.start_mark.line) + 1, column: Int(event.start_mark.column) + 1,
                        message:
                            "this document uses YAML aliases inside a mapping key (*\(name)); Cairn refuses "
                            + "that because such keys can expand without bound",
                        hint: "write keys as plain strings; aliases may stand for values")
                }
                if type == YAML_SEQUENCE_START_EVENT || type == YAML_MAPPING_START_EVENT {
                    frames.append((inKey, type == YAML_MAPPING_START_EVENT, true))
                }
            }
            return nil
        }
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
