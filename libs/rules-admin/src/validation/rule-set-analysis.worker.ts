import { analyzeDocument, AnalysisOutcome, AnalysisRequest } from './rule-set-analysis';

/** The entry of a rule set analysis worker thread (piscina calls the default export with each task). */
export default function analyze(request: AnalysisRequest): AnalysisOutcome {
  return analyzeDocument(request);
}
