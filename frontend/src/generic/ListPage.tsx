// /r/:view — the list of any view, titled by its _info.
import { useParams } from 'react-router';
import ResourceList from './ResourceList';

export default function ListPage() {
  const { view = '' } = useParams();
  // A new view is a new list: no filter draft or selection carries over.
  return <ResourceList key={view} view={view} />;
}
