import { useEffect, useState } from 'preact/hooks';

/** Hash routes (#/rules?system=crm): the service serves one index.html, whatever the page. */
export interface Route {
  page: string;
  rest: string[];
  params: URLSearchParams;
}

function read(): Route {
  const hash = decodeURIComponent(window.location.hash.replace(/^#\/?/, ''));
  const [path, query = ''] = hash.split('?');
  const [page = 'overview', ...rest] = path.split('/').filter(Boolean);
  return { page, rest, params: new URLSearchParams(query) };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const on = () => setRoute(read());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}

export function go(path: string): void {
  window.location.hash = `#/${path}`;
}
