import PrismStorage

extension CollectionStore {
    /// Runs a text search over every shard of the collection: statistics are summed first so all
    /// shards score alike, then each shard's best `offset + limit` are merged by score (ties by the id's hash).
    public func search(_ name: String, _ request: SearchRequest) throws -> SearchResult {
        let schema = try schema(name)
        let compiler = try QueryCompiler(schema: schema, defaultFieldNames: request.fields)
        let plan = try compiler.compile(try CollectionStore.parseQuery(request.query, parameter: "query"))
        let filter = try request.filter.map { text throws(EngineError) in try compiler.compile(try CollectionStore.parseQuery(text, parameter: "filter")) }
        let fieldCount = schema.backends.text?.fields.count ?? 0
        let k1 = Float(schema.backends.text?.bm25K1 ?? 1.2)
        let b = Float(schema.backends.text?.bm25B ?? 0.75)
        let window = request.offset + request.limit
        let index = self.index
        let documents = documentsTable
        return try environment.read { txn in
            let readers = try (0..<schema.numShards).map {
                try ShardReader(txn: txn, tables: index, collection: name, shard: $0, fields: fieldCount,
                                fieldTypes: (schema.backends.text?.fields ?? []).map(\.type))
            }
            var statistics = CollectionStatistics()
            let terms = plan.terms
            for reader in readers { statistics.merge(try reader.statistics(terms: terms, fields: fieldCount)) }

            var total = 0
            var candidates: [(ranked: RankedDoc, shard: Int)] = []
            for (shard, reader) in readers.enumerated() {
                let searcher = ShardSearcher(reader: reader, statistics: statistics, k1: k1, b: b)
                var collector = TopKCollector(k: window, tieKey: reader.tieKey)
                if filter == nil, request.minScore == nil, case .term(let field, let term, let boost) = plan {
                    total += try searcher.topTerm(field: field, term: term, boost: boost, collector: &collector)
                } else {
                    var matches = try searcher.evaluate(plan)
                    if let filter, matches.count > 0 {
                        matches = matches.intersect(try searcher.evaluate(filter).scaled(0))
                    }
                    for i in 0..<matches.count where request.minScore.map({ matches.scores[i] >= $0 }) ?? true {
                        total += 1
                        try collector.offer(matches.docs[i], matches.scores[i])
                    }
                }
                for ranked in collector.sorted() { candidates.append((ranked, shard)) }
            }
            candidates.sort { RankedDoc.better($0.ranked, $1.ranked) }
            let page = candidates.dropFirst(request.offset).prefix(request.limit)
            var hits: [SearchHit] = []
            for candidate in page {
                guard let id = try readers[candidate.shard].externalID(candidate.ranked.doc) else { continue }
                var document: Document?
                if request.includeDocuments {
                    let key = DocumentKey.make(collection: name, shard: candidate.shard, id: id)
                    let fields = try txn.withValue(documents, key) { bytes in try bytes.map { try DocumentCodec.decode($0) } }
                    document = fields.map { Document(id: id, fields: $0) }
                }
                hits.append(SearchHit(id: id, score: candidate.ranked.score, document: document))
            }
            return SearchResult(hits: hits, total: total, shardsTotal: schema.numShards, shardsSuccessful: schema.numShards)
        }
    }

    static func parseQuery(_ text: String, parameter: String) throws(EngineError) -> QueryNode {
        do {
            return try QueryParser.parse(text)
        } catch {
            throw .invalid("\(parameter): \(error.description)")
        }
    }
}
