import PrismStorage

extension CollectionStore {
    /// Runs a search over every shard of the collection. Text: corpus statistics are summed first
    /// so all shards score alike, then each shard's best are merged by score (ties by the id's
    /// hash). Vector: each shard's nearest are merged by distance. Both given: the two ranked
    /// lists are fused (RRF or weighted), so the answer does not depend on how the collection is
    /// sharded.
    public func search(_ name: String, _ request: SearchRequest) throws -> SearchResult {
        let schema = try schema(name)
        let compiler = try QueryCompiler(schema: schema, defaultFieldNames: request.fields)
        let runText = request.vector == nil || !request.query.isEmpty
        let plan = try compiler.compile(try CollectionStore.parseQuery(request.query, parameter: "query"))
        let filter = try request.filter.map { text throws(EngineError) in try compiler.compile(try CollectionStore.parseQuery(text, parameter: "filter")) }
        var query: [Float]?
        if let vector = request.vector {
            guard let backend = schema.backends.vector else {
                throw EngineError.invalid("vector: collection '\(name)' has no vector backend")
            }
            guard vector.count == backend.dimension else {
                throw EngineError.invalid("vector: has \(vector.count) dimensions, the schema requires \(backend.dimension)")
            }
            query = VectorDistance.prepared(vector, backend.distance)
        }
        let hybrid = runText && query != nil
        var highlightFields: [(ordinal: Int, field: FieldDefinition)] = []
        if let options = request.highlight {
            let fields = schema.backends.text?.fields ?? []
            let names = options.fields ?? fields.filter { $0.type == .text && $0.stored }.map(\.name)
            for fieldName in names {
                guard let o = fields.firstIndex(where: { $0.name == fieldName }) else {
                    throw EngineError.invalid("highlight.fields: '\(fieldName)' is not a field of collection '\(name)'")
                }
                guard fields[o].effectiveAnalyzer != nil, fields[o].stored else {
                    throw EngineError.invalid("highlight.fields: '\(fieldName)' is not a stored text or string field")
                }
                highlightFields.append((o, fields[o]))
            }
        }
        let highlightTerms = request.highlight == nil ? [:] : plan.highlightTerms
        let window = request.offset + request.limit
        // Fusion looks deeper than the page so a document ranked well by one list can surface.
        let depth = hybrid ? max(window, 100) : window
        let fieldCount = schema.backends.text?.fields.count ?? 0
        let fieldTypes = (schema.backends.text?.fields ?? []).map(\.type)
        let index = self.index
        let documents = documentsTable
        let vectorCaches = self.vectorCaches
        let incarnations = incarnationsTable

        return try environment.read { txn in
            let readers = try (0..<schema.numShards).map {
                try ShardReader(txn: txn, tables: index, collection: name, shard: $0, fields: fieldCount, fieldTypes: fieldTypes)
            }
            try attachPostingsBuffers(readers, collection: name, txn)
            if let backend = schema.backends.vector {
                let incarnation = try CollectionStore.incarnation(incarnations, Array(name.utf8), txn)
                for reader in readers {
                    reader.vectorMemory = vectorCaches.memory(for: reader.key, incarnation: incarnation, backend: backend)
                }
            }
            var statistics = CollectionStatistics()
            if runText {
                let terms = plan.terms
                for reader in readers { statistics.merge(try reader.statistics(terms: terms, fields: fieldCount)) }
            }
            let k1 = Float(schema.backends.text?.bm25K1 ?? 1.2)
            let b = Float(schema.backends.text?.bm25B ?? 0.75)

            var textList: [(ranked: RankedDoc, shard: Int)] = []
            var vectorList: [(ranked: RankedDoc, shard: Int)] = []
            var total = 0
            for (shard, reader) in readers.enumerated() {
                let searcher = ShardSearcher(reader: reader, statistics: statistics, k1: k1, b: b)
                var allowed: Set<UInt32>?
                if let filter {
                    allowed = Set(try searcher.evaluate(filter).docs)
                }
                if runText {
                    var collector = TopKCollector(k: depth, tieKey: reader.tieKey)
                    if filter == nil, request.minScore == nil, case .term(let field, let term, let boost) = plan {
                        total += try searcher.topTerm(field: field, term: term, boost: boost, collector: &collector)
                    } else if filter == nil, request.minScore == nil, case .boolean(let must, let should, let mustNot) = plan,
                              must.isEmpty, mustNot.isEmpty, should.count >= 2, let terms = ShardSearcher.termsOnly(should) {
                        total += try searcher.topDisjunction(terms, collector: &collector)
                    } else if filter == nil, request.minScore == nil, case .boolean(let must, let should, let mustNot) = plan,
                              must.count == 2, should.isEmpty, mustNot.isEmpty, let terms = ShardSearcher.termsOnly(must) {
                        total += try searcher.topConjunctionPair(terms[0], terms[1], collector: &collector)
                    } else {
                        let matches = try searcher.evaluate(plan)
                        for i in 0..<matches.count {
                            if let allowed, !allowed.contains(matches.docs[i]) { continue }
                            if let minScore = request.minScore, !hybrid, matches.scores[i] < minScore { continue }
                            total += 1
                            try collector.offer(matches.docs[i], matches.scores[i])
                        }
                    }
                    textList += try collector.sorted().map { ($0, shard) }
                }
                if let query, let backend = schema.backends.vector {
                    for c in try searcher.nearest(query, backend: backend, k: depth, ef: backend.hnswEfSearch, allowed: allowed) {
                        let score = VectorDistance.score(backend.distance, distance: c.distance)
                        vectorList.append((RankedDoc(doc: c.doc, score: score, tie: try reader.tieKey(c.doc)), shard))
                    }
                }
            }
            textList.sort { RankedDoc.better($0.ranked, $1.ranked) }
            vectorList.sort { RankedDoc.better($0.ranked, $1.ranked) }
            if !runText {
                vectorList = Array(vectorList.prefix(depth))
                if let minScore = request.minScore { vectorList = vectorList.filter { $0.ranked.score >= minScore } }
                total = vectorList.count
            }

            var ranked: [(ranked: RankedDoc, shard: Int)]
            if hybrid {
                ranked = HybridFusion.fuse(text: Array(textList.prefix(depth)), vector: Array(vectorList.prefix(depth)),
                                           strategy: request.mergeStrategy ?? schema.hybrid.defaultStrategy,
                                           rrfK: request.rrfK ?? schema.hybrid.rrfK,
                                           textWeight: request.textWeight ?? schema.hybrid.textWeight,
                                           vectorWeight: request.vectorWeight ?? schema.hybrid.vectorWeight)
                if let minScore = request.minScore { ranked = ranked.filter { $0.ranked.score >= minScore } }
                total = ranked.count
            } else {
                ranked = runText ? textList : vectorList
            }

            var hits: [SearchHit] = []
            for candidate in ranked.dropFirst(request.offset).prefix(request.limit) {
                guard let id = try readers[candidate.shard].externalID(candidate.ranked.doc) else { continue }
                var document: Document?
                if request.includeDocuments || request.highlight != nil {
                    let key = DocumentKey.make(collection: name, shard: candidate.shard, id: id)
                    let fields = try txn.withValue(documents, key) { bytes in try bytes.map { try DocumentCodec.decode($0) } }
                    document = fields.map { Document(id: id, fields: $0) }
                }
                var highlight: [String: [String]]?
                if let options = request.highlight, let document {
                    var found: [String: [String]] = [:]
                    let highlighter = Highlighter(options: options)
                    for (ordinal, field) in highlightFields {
                        guard let terms = highlightTerms[ordinal], let analyzer = field.effectiveAnalyzer,
                              case .text(let text)? = document.value(field.name) else { continue }
                        let fragments = highlighter.fragments(text, analyzer: analyzer, terms: terms)
                        if !fragments.isEmpty { found[field.name] = fragments }
                    }
                    highlight = found
                }
                hits.append(SearchHit(id: id, score: candidate.ranked.score, document: request.includeDocuments ? document : nil,
                                      highlight: highlight))
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
