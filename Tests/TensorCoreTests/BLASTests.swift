import Testing
@testable import TensorCore

@Suite struct BLASTests {
    @Test func smallSGEMMIsCorrect() {
        // [[1,2,3],[4,5,6]] · [[7,8],[9,10],[11,12]] = [[58,64],[139,154]]
        let a: [Float] = [1, 2, 3, 4, 5, 6]
        let b: [Float] = [7, 8, 9, 10, 11, 12]
        var c = [Float](repeating: 0, count: 4)
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    BLAS.sgemm(m: 2, n: 2, k: 3, a: pa.baseAddress!, lda: 3, b: pb.baseAddress!, ldb: 2,
                               c: pc.baseAddress!, ldc: 2)
                }
            }
        }
        #expect(c == [58, 64, 139, 154])
    }

    @Test func threadCountIsSettable() {
        let before = BLAS.threads
        BLAS.threads = 1
        #expect(BLAS.threads == 1)
        BLAS.threads = before
        #expect(BLAS.configuration.contains("OpenBLAS"))
    }
}
