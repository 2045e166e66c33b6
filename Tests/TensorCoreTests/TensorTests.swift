import Testing
@testable import TensorCore

@Suite struct TensorTests {
    @Test func viewsShareStorageUntilWritten() {
        let a = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        let t = a.transposed(0, 1)
        #expect(t.shape == [3, 2])
        #expect(!t.isContiguous)
        #expect(t.scalars == [1, 4, 2, 5, 3, 6])
        var b = a
        b.withUnsafeMutableBufferPointer { $0[0] = 100 }
        #expect(a.scalars[0] == 1)  // copy on write
        #expect(b.scalars[0] == 100)
    }

    @Test func narrowAndReshape() {
        let a = Tensor(shape: [2, 3, 4], scalars: (0..<24).map(Float.init))
        let n = a.narrowed(dim: 2, start: 1, length: 2)
        #expect(n.shape == [2, 3, 2])
        #expect(n.scalars == [1, 2, 5, 6, 9, 10, 13, 14, 17, 18, 21, 22])
        #expect(n.reshaped([-1]).shape == [12])
        let p = a.permuted([2, 0, 1])
        #expect(p.shape == [4, 2, 3])
        #expect(p.contiguous().scalars.prefix(6) == [0, 4, 8, 12, 16, 20])
    }

    @Test func parallelForCoversEveryIndexOnce() {
        var hits = [Int](repeating: 0, count: 1001)
        hits.withUnsafeMutableBufferPointer { h in
            let p = h.baseAddress!
            ThreadPool.parallelFor(1001) { r in for i in r { p[i] += 1 } }
        }
        #expect(hits.allSatisfy { $0 == 1 })
    }
}
