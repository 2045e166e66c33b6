import Foundation
import Testing
@testable import TensorCore

/// Reader tests: files from the reference `safetensors` package (see `safetensors_formats()` in
/// Scripts/fixtures/make_tensorcore_fixtures.py) and malformed files built here at run time.
@Suite struct SafeTensorsTests {
    // MARK: Files written by the Python package

    @Test func readsF32FromPythonWithoutCopying() throws {
        let file = try Fixtures.open("st_f32.safetensors")
        #expect(file.names == ["empty", "scalar", "x"])
        #expect(file.metadata["script"] == "Scripts/fixtures/make_tensorcore_fixtures.py")
        #expect(file.info("x")! == ("F32", [3, 7]))
        let x = try file.tensor("x")
        #expect(x.shape == [3, 7])
        #expect(!x.storage.isWritable)  // borrowed from the mapping
        let expected = try Fixtures.open("st_expected.safetensors").tensor("x")
        #expect(x.scalars == expected.scalars)
        #expect(try file.tensor("scalar").shape == [])
        #expect(try file.tensor("scalar").scalars == [3.5])
        #expect(try file.tensor("empty").shape == [0, 3])
    }

    @Test func convertsF16AndBF16Exactly() throws {
        let expected = try Fixtures.open("st_expected.safetensors")
        for (file, suffix) in [("st_f16.safetensors", "f16"), ("st_bf16.safetensors", "bf16")] {
            let f = try Fixtures.open(file)
            #expect(f.info("x")!.dtype == suffix.uppercased())
            #expect(try f.tensor("x").scalars == expected.tensor("x_\(suffix)").scalars)
            let special = try f.tensor("special").scalars, want = try expected.tensor("special_\(suffix)").scalars
            #expect(special.map(\.bitPattern) == want.map(\.bitPattern))  // keeps -0 and infinities
        }
    }

    @Test func readsShardedIndexAndFolder() throws {
        let expected = try Fixtures.open("sharded_expected.safetensors")
        for path in [Fixtures.path("sharded/model.safetensors.index.json"), Fixtures.path("sharded")] {
            let archive = try SafeTensorsArchive(path: path)
            #expect(archive.names == ["a", "b", "c"])
            for name in archive.names {
                #expect(try archive.tensor(name).scalars == expected.tensor(name).scalars)
            }
            #expect(archive.info("b")! == ("F16", [5]))
            #expect(throws: SafeTensorsError.missingTensor(file: archive.path, name: "d")) { try archive.tensor("d") }
        }
        let single = try SafeTensorsArchive(path: Fixtures.path("st_f32.safetensors"))
        #expect(single.names == ["empty", "scalar", "x"])
    }

    @Test func writeThenReadRoundTrips() throws {
        let dir = try Fixtures.scratchFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/w.safetensors"
        let a = randomTensor([3, 5, 7])
        let view = a.transposed(0, 2)  // written densely
        try SafeTensors.write([("a", a), ("b.weight", view), ("s", Tensor(shape: [], scalars: [2]))],
                              metadata: ["format": "pt", "q\"uote": "line\nbreak"], to: path)
        let f = try SafeTensorsFile(path: path)
        #expect(f.names == ["a", "b.weight", "s"])
        #expect(f.metadata == ["format": "pt", "q\"uote": "line\nbreak"])
        #expect(try f.tensor("a").scalars == a.scalars)
        #expect(try f.tensor("b.weight").shape == [7, 5, 3])
        #expect(try f.tensor("b.weight").scalars == view.scalars)
        #expect(try f.tensor("s").scalars == [2])
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["w.safetensors"])
        #expect(throws: SafeTensorsError.invalidTensor(file: path, tensor: "a", reason: "empty, reserved or duplicate name")) {
            try SafeTensors.write([("a", a), ("a", a)], to: path)
        }
    }

    @Test func borrowedTensorOutlivesTheFile() throws {
        var file: SafeTensorsFile? = try Fixtures.open("st_f32.safetensors")
        var x = try file!.tensor("x")
        let values = x.scalars
        file = nil
        #expect(x.scalars == values)  // the mapping stays while a tensor borrows it
        x.withUnsafeMutableBufferPointer { $0[0] = 42 }  // writes go to a private copy
        #expect(x.scalars[0] == 42)
        #expect(try Fixtures.open("st_f32.safetensors").tensor("x").scalars == values)
    }

    @Test func missingTensorNamesFileAndTensor() throws {
        let f = try Fixtures.open("st_f32.safetensors")
        let error = #expect(throws: SafeTensorsError.self) { try f.tensor("nope") }
        #expect(error == .missingTensor(file: f.path, name: "nope"))
        #expect(error!.description.contains("st_f32.safetensors"))
        #expect(error!.description.contains("nope"))
    }

    // MARK: Hand-built files

    /// Writes a file with the given header text (length prefix computed unless `lengthPrefix` is given).
    private func build(_ header: String, data: [UInt8] = [], lengthPrefix: UInt64? = nil,
                       in dir: String, name: String = "t.safetensors") throws -> String {
        var bytes: [UInt8] = []
        withUnsafeBytes(of: (lengthPrefix ?? UInt64(header.utf8.count)).littleEndian) { bytes += $0 }
        bytes += Array(header.utf8) + data
        let path = dir + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    private func floatBytes(_ values: [Float]) -> [UInt8] {
        values.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
    }

    @Test func unalignedF32IsCopied() throws {
        let dir = try Fixtures.scratchFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Header of 49 bytes: the data area starts at byte 57, not 4-byte aligned.
        var header = #"{"x":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}}"#
        while (8 + header.utf8.count) % 4 == 0 { header += " " }
        let path = try build(header, data: floatBytes([1, -2, 3.5]), in: dir)
        let x = try SafeTensorsFile(path: path).tensor("x")
        #expect(x.storage.isWritable)
        #expect(x.scalars == [1, -2, 3.5])
    }

    @Test func otherDTypesConvertOrAreRefused() throws {
        let dir = try Fixtures.scratchFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ints: [UInt8] = withUnsafeBytes(of: Int64(-7).littleEndian) { Array($0) }
            + withUnsafeBytes(of: Int64(9).littleEndian) { Array($0) }
        let p = try build(#"{"i":{"dtype":"I64","shape":[2],"data_offsets":[0,16]}}"#, data: ints, in: dir)
        #expect(try SafeTensorsFile(path: p).tensor("i").scalars == [-7, 9])
        let q = try build(#"{"e":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}}"#, data: [0, 0], in: dir)
        #expect(throws: SafeTensorsError.unsupportedDType(file: q, tensor: "e", dtype: "F8_E4M3")) {
            try SafeTensorsFile(path: q)
        }
    }

    /// Each malformed file is refused with the expected typed error, naming the file and tensor.
    @Test func malformedFilesAreRefused() throws {
        let dir = try Fixtures.scratchFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let good = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
        let eight = floatBytes([1, 2])

        func expectError(_ path: String, _ check: (SafeTensorsError) -> Bool, sourceLocation: SourceLocation = #_sourceLocation) {
            do {
                _ = try SafeTensorsFile(path: path)
                Issue.record("\(path) was accepted", sourceLocation: sourceLocation)
            } catch let e as SafeTensorsError {
                #expect(check(e), "unexpected \(e)", sourceLocation: sourceLocation)
                #expect(e.description.contains(path), sourceLocation: sourceLocation)
            } catch {
                Issue.record("untyped error \(error)", sourceLocation: sourceLocation)
            }
        }

        // Empty and shorter than the length prefix.
        try Data().write(to: URL(fileURLWithPath: dir + "/empty.safetensors"))
        expectError(dir + "/empty.safetensors") { $0 == .truncated(file: dir + "/empty.safetensors", size: 0) }
        try Data([1, 0, 0]).write(to: URL(fileURLWithPath: dir + "/short.safetensors"))
        expectError(dir + "/short.safetensors") { if case .truncated = $0 { true } else { false } }

        // Header length lies: past the end of the file, and absurdly large.
        var p = try build(good, data: eight, lengthPrefix: UInt64(good.utf8.count + 100), in: dir)
        expectError(p) { if case .headerLength = $0 { true } else { false } }
        p = try build(good, data: eight, lengthPrefix: UInt64.max, in: dir)
        expectError(p) { if case .headerLength = $0 { true } else { false } }
        p = try build(good, data: eight, lengthPrefix: 1 << 40, in: dir)
        expectError(p) { if case .headerLength = $0 { true } else { false } }

        // Header length shorter than the JSON: the header is cut mid-object.
        p = try build(good, data: eight, lengthPrefix: UInt64(good.utf8.count - 5), in: dir)
        expectError(p) { $0 == .invalidHeader(file: p, reason: "not valid JSON") }

        // Header length within a (sparse) 200 MB file but over the 100 MB limit.
        p = try build(good, lengthPrefix: 150_000_000, in: dir, name: "huge.safetensors")
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: p))
        try handle.truncate(atOffset: 200_000_000)
        try handle.close()
        expectError(p) { $0 == .headerLength(file: p, length: 150_000_000, fileSize: 200_000_000, limit: 100_000_000) }
        try FileManager.default.removeItem(atPath: p)

        // Truncated data area: the range runs past the end.
        p = try build(good, data: Array(eight.prefix(5)), in: dir)
        expectError(p) { $0 == .outOfBounds(file: p, tensor: "a", begin: 0, end: 8, dataSize: 5) }

        // Header is not JSON, not an object, or has bad metadata.
        p = try build("{not json", data: eight, in: dir)
        expectError(p) { $0 == .invalidHeader(file: p, reason: "not valid JSON") }
        p = try build("[1,2,3]", in: dir)
        expectError(p) { $0 == .invalidHeader(file: p, reason: "not a JSON object") }
        p = try build(#"{"__metadata__":{"k":5}}"#, in: dir)
        expectError(p) { if case .invalidHeader = $0 { true } else { false } }

        // dtype × shape disagrees with the range.
        p = try build(#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: eight, in: dir)
        expectError(p) { $0 == .sizeMismatch(file: p, tensor: "a", expectedBytes: 12, rangeBytes: 8) }

        // Overlapping ranges.
        p = try build(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
                      data: eight, in: dir)
        expectError(p) { $0 == .overlap(file: p, tensor: "b", other: "a") }

        // Reversed and negative ranges.
        p = try build(#"{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}"#, data: eight, in: dir)
        expectError(p) { if case .outOfBounds(_, "a", 8, 0, 8) = $0 { true } else { false } }
        p = try build(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}}"#, data: eight, in: dir)
        expectError(p) { if case .outOfBounds(_, "a", _, _, _) = $0 { true } else { false } }

        // Negative, overflowing and non-integer shapes.
        p = try build(#"{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, data: eight, in: dir)
        expectError(p) { if case .invalidEntry(_, "a", _) = $0 { true } else { false } }
        p = try build(#"{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}"#, data: eight, in: dir)
        expectError(p) { if case .invalidEntry(_, "a", let r) = $0 { r.contains("overflows") } else { false } }
        p = try build(#"{"a":{"dtype":"F32","shape":[2305843009213693952],"data_offsets":[0,8]}}"#, data: eight, in: dir)
        expectError(p) { if case .invalidEntry(_, "a", let r) = $0 { r.contains("overflows") } else { false } }
        // No elements, but strides past Int: refused before any stride is computed.
        p = try build(#"{"a":{"dtype":"F32","shape":[0,4294967296,4294967296],"data_offsets":[0,0]}}"#, data: eight, in: dir)
        expectError(p) { if case .invalidEntry(_, "a", let r) = $0 { r.contains("overflows") } else { false } }
        p = try build(#"{"a":{"dtype":"F32","shape":[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1],"data_offsets":[0,4]}}"#, data: eight, in: dir)
        expectError(p) { if case .invalidEntry(_, "a", let r) = $0 { r.contains("rank") } else { false } }
        p = try build(#"{"a":{"dtype":"F32","shape":[1e30],"data_offsets":[0,8]}}"#, data: eight, in: dir)
        expectError(p) { if case .invalidEntry(_, "a", _) = $0 { true } else { false } }
        p = try build(#"{"a":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}}"#, data: eight, in: dir)
        expectError(p) { if case .invalidEntry(_, "a", _) = $0 { true } else { false } }

        // Missing fields and wrong offsets arity.
        p = try build(#"{"a":{"dtype":"F32","shape":[2]}}"#, data: eight, in: dir)
        expectError(p) { $0 == .invalidEntry(file: p, tensor: "a", reason: "missing field data_offsets") }
        p = try build(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}}"#, data: eight, in: dir)
        expectError(p) { if case .invalidEntry(_, "a", _) = $0 { true } else { false } }
        p = try build(#"{"a":7}"#, data: eight, in: dir)
        expectError(p) { if case .invalidEntry(_, "a", _) = $0 { true } else { false } }

        // A folder where a file is expected.
        expectError(dir) { if case .io = $0 { true } else { false } }
    }

    @Test func hostileIndexIsRefused() throws {
        let dir = try Fixtures.scratchFolder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let index = dir + "/model.safetensors.index.json"
        try Data(#"{"weight_map":{"a":"../../etc/passwd"}}"#.utf8).write(to: URL(fileURLWithPath: index))
        #expect(throws: SafeTensorsError.self) { try SafeTensorsArchive(path: index) }
        try Data(#"{"weight_map":[1]}"#.utf8).write(to: URL(fileURLWithPath: index))
        #expect(throws: SafeTensorsError.invalidIndex(file: index, reason: "not a JSON object with a weight_map of strings")) {
            try SafeTensorsArchive(path: index)
        }
        // The index names a tensor that its shard lacks.
        try SafeTensors.write([("a", Tensor.ones([2]))], to: dir + "/s.safetensors")
        try Data(#"{"weight_map":{"a":"s.safetensors","z":"s.safetensors"}}"#.utf8).write(to: URL(fileURLWithPath: index))
        #expect(throws: SafeTensorsError.missingTensor(file: dir + "/s.safetensors", name: "z")) {
            try SafeTensorsArchive(path: index)
        }
        // A folder with an index and a stray file resolves to the index; two indices are ambiguous.
        try Data(#"{"weight_map":{"a":"s.safetensors"}}"#.utf8).write(to: URL(fileURLWithPath: index))
        #expect(try SafeTensorsArchive(path: dir).names == ["a"])
        try Data(#"{"weight_map":{}}"#.utf8).write(to: URL(fileURLWithPath: dir + "/other.safetensors.index.json"))
        #expect(throws: SafeTensorsError.self) { try SafeTensorsArchive(path: dir) }
    }

    @Test func halfConversionCoversEveryClass() {
        #expect(Half.toFloat(0x3c00) == 1)
        #expect(Half.toFloat(0xc000) == -2)
        #expect(Half.toFloat(0x7bff) == 65504)
        #expect(Half.toFloat(0x0001) == 0x1p-24)
        #expect(Half.toFloat(0x8001) == -0x1p-24)
        #expect(Half.toFloat(0x0400) == 0x1p-14)
        #expect(Half.toFloat(0x7c00) == .infinity)
        #expect(Half.toFloat(0xfc00) == -.infinity)
        #expect(Half.toFloat(0x7e00).isNaN)
        #expect(Half.toFloat(0x8000).sign == .minus)
    }
}
