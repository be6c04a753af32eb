import { useEffect, useState } from 'preact/hooks';
import { gql, session } from './api/client';
import { Role, type Me } from './api/generated/graphql';
import { ME } from './api/queries';
import { CustomerPage } from './pages/customer/customer-page';
import { HistoryPage } from './pages/history/history-page';
import { OverviewPage } from './pages/overview/overview-page';
import { RulesPage } from './pages/rules/rules-page';
import { SignInPage } from './pages/sign-in/sign-in-page';
import { UnmappedPage } from './pages/unmapped/unmapped-page';
import { useRoute } from './ui/route';

/** What each role is offered; the API refuses the rest anyway. */
export const canEditRules = (me: Me): boolean => me.role === Role.ANALYST || me.role === Role.ADMIN;

const PAGES: Array<{ page: string; label: string; analyst?: boolean }> = [
  { page: 'overview', label: 'Overview' },
  { page: 'rules', label: 'Rule tables', analyst: true },
  { page: 'history', label: 'History', analyst: true },
  { page: 'unmapped', label: 'Unmapped values' },
  { page: 'customer', label: 'Customer' },
];

export function App() {
  const route = useRoute();
  const [me, setMe] = useState<Me | null>(null);
  const [checking, setChecking] = useState(session.token !== null);

  useEffect(() => {
    if (!session.token) return;
    gql<{ me: Me | null }>(ME).then(
      (r) => {
        setMe(r.me);
        setChecking(false);
      },
      () => {
        session.clear();
        setChecking(false);
      },
    );
  }, []);

  if (checking) return <p class="muted">Checking the session…</p>;
  if (!me) return <SignInPage onSignedIn={setMe} />;

  const pages = PAGES.filter((p) => !p.analyst || canEditRules(me));
  const current = pages.some((p) => p.page === route.page) ? route.page : 'overview';
  return (
    <div class="shell">
      <header class="top">
        <a class="brand" href="#/overview">
          statusview <span>console</span>
        </a>
        <nav aria-label="Pages">
          {pages.map((p) => (
            <a key={p.page} href={`#/${p.page}`} aria-current={p.page === current ? 'page' : undefined}>
              {p.label}
            </a>
          ))}
        </nav>
        <div class="who">
          <span data-testid="signed-in">
            {me.name} · {me.role.toLowerCase()}
          </span>
          <button
            class="link"
            onClick={() => {
              session.clear();
              setMe(null);
            }}
          >
            Sign out
          </button>
        </div>
      </header>
      <main id="main">
        {current === 'overview' ? <OverviewPage /> : null}
        {current === 'rules' ? <RulesPage route={route} /> : null}
        {current === 'history' ? <HistoryPage /> : null}
        {current === 'unmapped' ? <UnmappedPage me={me} /> : null}
        {current === 'customer' ? <CustomerPage id={route.rest[0] ?? ''} /> : null}
      </main>
    </div>
  );
}
