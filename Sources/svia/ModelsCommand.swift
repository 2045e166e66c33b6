import ArgumentParser
import Foundation
import Networks

/// `svia models`: the catalog of models svia uses, and the Hugging Face cache that holds them.
struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "List, fetch, verify and locate the models svia uses.",
        discussion: """
            Models live in the Hugging Face hub cache ($HF_HUB_CACHE, else $HF_HOME/hub, else \
            ~/.cache/huggingface/hub), shared with huggingface_hub. HF_ENDPOINT, HF_TOKEN and HF_HUB_OFFLINE \
            mean what they mean there; the token is also read from HF_TOKEN_PATH or $HF_HOME/token, and is sent only \
            over https to the HF_ENDPOINT host. SVIA_MODEL_CATALOG names a catalog file to use instead of the \
            built-in one (e.g. with other pinned hashes).
            Exit status: 0 ok, 1 failure, 2 usage.
            """,
        subcommands: [List.self, Fetch.self, Verify.self, Path.self])

    /// The catalog and store for this process's environment; a bad catalog file is a usage error.
    static func open() throws -> (ModelCatalog, ModelStore) {
        do {
            let catalog = try ModelCatalog.active()
            return (catalog, ModelStore(catalog: catalog))
        } catch {
            Terminal.error("\(error)")
            throw ExitCode(2)
        }
    }

    static func entries(_ ids: [String], in catalog: ModelCatalog) throws -> [ModelEntry] {
        do {
            return try ids.map(catalog.entry)
        } catch {
            Terminal.error("\(error)")
            throw ExitCode(2)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the catalog: role, size, licence, and whether each model is in the cache.")

        @Flag(help: "Write JSON (one object per model) instead of a table.")
        var json = false

        func run() throws {
            let (catalog, store) = try ModelsCommand.open()
            if json {
                try printJSON(catalog, store)
                return
            }
            print("Hugging Face cache: \(store.hub.path)")
            for m in catalog.models {
                let size = m.sizeBytes.map(ModelStore.formatBytes) ?? "size unknown"
                print("")
                print("\(m.id)  [\(m.role.rawValue)]  \(m.repository) @ \(m.revision)  \(size)")
                for src in m.sources.dropFirst() {
                    print("  or: \(src.repository) @ \(src.revision)" + (src.fetch ? "" : " (from the cache only)"))
                }
                if !m.sources.contains(where: \.fetch) { print("  no source svia can download from: only used when found in the cache") }
                print("  licence: \(m.licence.name) (\(m.licence.url))")
                if !m.commercialUse { print("  WARNING: not for commercial use under this licence") }
                if let path = store.path(m) {
                    print("  present: \(path.path)")
                } else {
                    let missing = store.missingFiles(m)
                    print(missing.count == m.files.count ? "  not in the cache"
                                                         : "  incomplete: missing \(missing.joined(separator: ", "))")
                }
                if let note = m.note { print("  note: \(note)") }
            }
            if !catalog.presets.isEmpty {
                print("")
                print("presets (first model of each slot preferred; any present alternative is accepted):")
                for (name, slots) in catalog.presets.sorted(by: { $0.key < $1.key }) {
                    print("  \(name): " + slots.map { $0.count == 1 ? $0[0] : $0[0] + " (or " + $0.dropFirst().joined(separator: ", ") + ")" }
                        .joined(separator: " + "))
                }
            }
        }

        private func printJSON(_ catalog: ModelCatalog, _ store: ModelStore) throws {
            let rows: [[String: Any]] = catalog.models.map { m in
                [
                    "id": m.id, "repository": m.repository, "revision": m.revision, "role": m.role.rawValue,
                    "sources": m.sources.map { src -> [String: Any] in
                        ["repository": src.repository, "revision": src.revision, "commit": src.commit.map { $0 as Any } ?? NSNull(),
                         "fetch": src.fetch, "withdrawn": src.withdrawn]
                    },
                    "files": m.files, "sizeBytes": m.sizeBytes.map { NSNumber(value: $0) } ?? NSNull(),
                    "licence": ["name": m.licence.name, "url": m.licence.url], "commercialUse": m.commercialUse,
                    "present": store.isPresent(m), "path": store.path(m).map { $0.path as Any } ?? NSNull(),
                    "missingFiles": store.missingFiles(m), "note": m.note.map { $0 as Any } ?? NSNull(),
                ]
            }
            let data = try JSONSerialization.data(withJSONObject: ["hub": store.hub.path, "models": rows],
                                                  options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        }
    }

    struct Fetch: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download models into the cache (resumes interrupted downloads; every file is hash-checked).",
            discussion: """
                Each model's sources are tried in order; a source that answers with an error, another commit than the \
                pinned one, or content other than the pinned hashes is refused and the next one is tried. \
                With --preset, the models of that preset are fetched (one per slot, the first svia can download, \
                unless one of the slot is already in the cache); their sizes and licences are printed first.
                """)

        @Argument(help: "Model ids from `svia models list`.")
        var ids: [String] = []

        @Option(help: "Fetch what this preset needs (fast, default or paper; see `svia models list`).")
        var preset: String?

        @Flag(help: "No progress on stderr.")
        var quiet = false

        func run() throws {
            guard !ids.isEmpty || preset != nil else {
                Terminal.error("name at least one model id or a --preset (see `svia models list`)")
                throw ExitCode(2)
            }
            let (catalog, store) = try ModelsCommand.open()
            var entries = try ModelsCommand.entries(ids, in: catalog)
            if let preset {
                let slots: [[ModelEntry]]
                do {
                    slots = try catalog.preset(preset)
                } catch {
                    Terminal.error("\(error)")
                    throw ExitCode(2)
                }
                for m in plan(preset, slots: slots, store: store) where !entries.contains(where: { $0.id == m.id }) {
                    entries.append(m)
                }
            }
            var failed = false
            for m in entries {
                if !m.commercialUse && preset == nil {
                    Terminal.note("note: \(m.id) is under the \(m.licence.name): not for commercial use (\(m.licence.url))")
                }
                var lastDraw = Date.distantPast
                do {
                    let path = try store.fetch(m) { p in
                        guard !quiet, Terminal.stderrIsTTY else { return }
                        let now = Date()
                        guard now.timeIntervalSince(lastDraw) > 0.2 || p.bytesDone == p.bytesTotal else { return }
                        lastDraw = now
                        let total = p.bytesTotal.map { " / " + ModelStore.formatBytes($0) } ?? ""
                        Terminal.status("\(m.id): \(p.path)  \(ModelStore.formatBytes(p.bytesDone))\(total)")
                    }
                    if !quiet { Terminal.clearStatus() }
                    if !quiet { Terminal.note("\(m.id): \(path.path)") }
                } catch {
                    if !quiet { Terminal.clearStatus() }
                    Terminal.error("\(error)")
                    failed = true
                }
            }
            if failed { throw ExitCode(1) }
        }

        /// One model per slot of the preset: a present one (nothing to fetch), else the first that has a source svia
        /// can download. Prints, before anything is downloaded, what each slot gets, its size and licence.
        func plan(_ preset: String, slots: [[ModelEntry]], store: ModelStore) -> [ModelEntry] {
            var out: [ModelEntry] = []
            var lines = ["preset \(preset):"]
            var total: Int64 = 0
            var unknown: [String] = []
            var restricted: [ModelEntry] = []
            for slot in slots {
                guard let first = slot.first else { continue }
                if let present = slot.first(where: store.isPresent) {
                    lines.append("  \(present.id) [\(present.role.rawValue)]: in the cache (\(present.licence.name))")
                    if !present.commercialUse { restricted.append(present) }
                    continue
                }
                guard let m = slot.first(where: { !$0.fetchableSources.isEmpty }) else {
                    lines.append("  \(first.id) [\(first.role.rawValue)]: no source svia can download from")
                    out.append(first)
                    continue
                }
                let size = m.sizeBytes.map(ModelStore.formatBytes) ?? "size unknown"
                if let b = m.sizeBytes { total += b } else { unknown.append(m.id) }
                let from = (m.downloadSource ?? m.fetchableSources[0]).repository
                lines.append("  \(m.id) [\(m.role.rawValue)]: \(from), \(size), \(m.licence.name) (\(m.licence.url))")
                for w in m.sources where w.withdrawn { lines.append("    (\(w.repository) is tried first: \(w.note ?? "withdrawn from the hub"))") }
                if m.id != first.id {
                    lines.append("    (the preset prefers \(first.id): \(first.note ?? "svia cannot download it"))")
                }
                if !m.commercialUse { restricted.append(m) }
                out.append(m)
            }
            var sum = "to download: \(ModelStore.formatBytes(total))"
            if !unknown.isEmpty { sum += " plus \(unknown.joined(separator: ", ")) (size unknown)" }
            lines.append(out.isEmpty ? "everything this preset needs is in the cache" : sum)
            for m in restricted {
                lines.append("NOT FOR COMMERCIAL USE: \(m.id) (\(m.licence.name), \(m.licence.url)).")
                if let alt = m.alternative { lines.append("  Instead: \(alt)") }
            }
            for line in lines { Terminal.note(line) }
            return out
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-hash cached models against the hashes their blobs are named by.",
            discussion: "With no ids, checks every catalog model that is at least partly in the cache.")

        @Argument(help: "Model ids (default: all models found in the cache).")
        var ids: [String] = []

        func run() throws {
            let (catalog, store) = try ModelsCommand.open()
            let entries = ids.isEmpty
                ? catalog.models.filter { store.missingFiles($0).count < $0.files.count }
                : try ModelsCommand.entries(ids, in: catalog)
            if entries.isEmpty { print("no catalog model is in the cache at \(store.hub.path)") }
            var bad = false
            for m in entries {
                let checks = store.verify(m) { p in
                    if let total = p.bytesTotal, total > 0 {
                        Terminal.status("\(m.id): \(p.path)  \(Int(Double(p.bytesDone) / Double(total) * 100))%")
                    }
                }
                Terminal.clearStatus()
                var lines: [String] = []
                for c in checks {
                    switch c {
                    case .ok: break
                    case let .missing(p): lines.append("  missing: \(p)"); bad = true
                    case let .mismatch(p, expected, actual):
                        lines.append("  MISMATCH: \(p): expected \(expected), got \(actual)"); bad = true
                    case let .unverifiable(p): lines.append("  not checked (a plain file, not a hash-named blob): \(p)")
                    }
                }
                let okCount = checks.filter { if case .ok = $0 { true } else { false } }.count
                print("\(m.id): \(okCount)/\(checks.count) files verified")
                lines.forEach { print($0) }
            }
            if bad {
                Terminal.error("verification failed; fetch again with `svia models fetch ID` after deleting the damaged files")
                throw ExitCode(1)
            }
        }
    }

    struct Path: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a model's snapshot folder in the cache (exit 1 when it is not all there).")

        @Argument(help: "A model id.")
        var id: String

        func run() throws {
            let (catalog, store) = try ModelsCommand.open()
            let m = try ModelsCommand.entries([id], in: catalog)[0]
            guard let path = store.path(m) else {
                Terminal.error("\(ModelStoreError.notInCache(model: m.id, hub: store.hub.path)); fetch it with `svia models fetch \(m.id)`")
                throw ExitCode(1)
            }
            print(path.path)
        }
    }
}
